from pathlib import Path

import pytest

from microaction.cli import main
from microaction.config import load_config, save_config
from microaction.errors import ConfigError

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").rglob("*.yaml"))


def test_configs_exist():
    names = {p.relative_to(p.parents[1]).as_posix() for p in CONFIGS}
    assert {"ma52/manet_r50.yaml", "ma52/tsm_r50.yaml", "ma52/tsn_r50.yaml",
            "synthetic/manet_r18.yaml"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_config_loads_and_takes_overrides(path, tmp_path):
    cfg = load_config(path, ["data.root=/path/to/ma52", "train.epochs=1"])
    assert cfg.data.root == "/path/to/ma52" and cfg.train.epochs == 1
    save_config(cfg, tmp_path / "resolved.yaml")
    assert load_config(tmp_path / "resolved.yaml").to_dict() == cfg.to_dict()


def test_official_recipe_values():
    cfg = load_config(CONFIGS[0].parent.parent / "ma52" / "manet_r50.yaml")
    t = cfg.train
    assert (cfg.model.name, cfg.model.clip_len, cfg.model.size) == ("manet_r50", 8, 224)
    assert (t.batch_size, t.lr, t.momentum, t.weight_decay, t.epochs) == (10, 0.00125, 0.9,
                                                                          1e-4, 80)
    assert (t.lr_steps, t.lr_gamma, t.clip_grad, cfg.model.embed_weight) == ([30, 60], 0.1,
                                                                             20.0, 50.0)


@pytest.mark.parametrize("overrides, fragment", [
    (["train.epoch=3"], "unknown key train.epoch; did you mean train.epochs?"),
    (["train.epochs=three"], "train.epochs must be int"),
    (["train.amp=fp8"], "train.amp must be one of"),
    (["optim.lr=1"], "unknown section 'optim'"),
    (["epochs=3"], "expected section.key=value"),
    (["train.best_metric=accuracy"], "train.best_metric must be one of"),
    (["train.lr_schedule=linear"], "train.lr_schedule must be one of step, cosine"),
    (["data.crop_scales=[1.0, 1.5]"], "data.crop_scales must be a non-empty list"),
    (["data.crop_scales=[]"], "data.crop_scales must be a non-empty list"),
    (["data.train_crop=random"], "data.train_crop must be one of multiscale, center"),
])
def test_bad_overrides(overrides, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("?", r"\?").replace("(", r"\(")):
        load_config(None, overrides)


def test_config_typo_in_file_is_one_line_cli_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  name: tsm_r18\ntrain:\n  lr_step: [3]\n")
    assert main(["train", str(bad), "--work-dir", str(tmp_path / "w")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown key train.lr_step" in err and "bad.yaml" in err
    assert not (tmp_path / "w").exists()
    assert main(["train", str(tmp_path / "missing.yaml")]) == 1
    assert "config file not found" in capsys.readouterr().err


def test_lr_schedules():
    import math

    import torch

    from microaction.engine.optim import build_scheduler

    def factors(**kw):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        sched = build_scheduler(opt, iters_per_epoch=10, **kw)
        out = []
        for _ in range(100):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return out

    step = factors(steps=(3, 6), gamma=0.1)
    assert step[0] == 1.0 and step[29] == 1.0 and math.isclose(step[30], 0.1)
    assert math.isclose(step[60], 0.01)
    cos = factors(schedule="cosine", epochs=10, warmup_epochs=1.0)
    assert cos[0] == 0.1 and math.isclose(cos[9], 1.0)  # linear warm-up over the first epoch
    assert math.isclose(cos[55], 0.5 * (1 + math.cos(math.pi * 0.5)))  # half-way after warm-up
    assert all(a >= b for a, b in zip(cos[9:], cos[10:])) and cos[99] < 0.001
    with pytest.raises(ConfigError, match="train.lr_schedule must be one of step, cosine"):
        factors(schedule="linear")


def test_train_crop_center_keeps_the_test_view():
    import numpy as np
    import pytest as _pytest

    from microaction.data.transforms import VideoTransform
    from microaction.spec import InputSpec

    spec = InputSpec(clip_len=2, size=32, short_side=36)
    frames = np.random.default_rng(0).integers(0, 255, (2, 44, 36, 3), dtype=np.uint8)
    train = VideoTransform(spec, train=True, crop="center", flip_p=0.0)(frames,
                                                                       np.random.default_rng(1))
    test = VideoTransform(spec, train=False)(frames)
    assert train.shape == (3, 2, 32, 32) and np.array_equal(train.numpy(), test.numpy())
    with _pytest.raises(ValueError, match="crop must be one of multiscale, center"):
        VideoTransform(spec, train=True, crop="random")


def test_synthetic_manet_config_is_the_demo_recipe():
    from microaction.cli.demo import DEMO, demo_config

    shipped = load_config(CONFIGS[0].parent.parent / "synthetic" / "manet_r18.yaml",
                          ["data.root=x"]).to_dict()
    demo = demo_config(Path("x"), "manet_r18", DEMO["size"], DEMO["epochs"]).to_dict()
    assert shipped == demo


def test_yaml_quirks_are_read_as_meant():
    """YAML 1.1 reads 5e-05 (no dot) as text and a bare `off` as false: both mean what a user
    wrote."""
    cfg = load_config(None, ["train.lr=5e-05", "train.amp=off"])
    assert cfg.train.lr == 5e-05 and cfg.train.amp == "off"
    with pytest.raises(ConfigError, match="train.lr must be float"):
        load_config(None, ["train.lr=fast"])
