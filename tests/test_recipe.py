"""configs/ma52/manet_r50.yaml reproduces the MANet release: label-table scale, where the head
learning-rate multipliers go, best checkpoint by top-1, the release's training frame indices."""

from pathlib import Path

import numpy as np
import pytest
import torch

from microaction.config import load_config
from microaction.data.sampling import segment_indices
from microaction.engine.optim import param_groups
from microaction.label_embeddings import load_label_embeddings
from microaction.losses import JointEmbeddingLoss
from microaction.models import create_model

MA52 = Path(__file__).resolve().parents[1] / "configs" / "ma52" / "manet_r50.yaml"


def test_ma52_config_is_the_release():
    cfg = load_config(MA52)
    assert cfg.model.label_embeddings == "minilm-official-rms"
    assert (cfg.train.head_lr_layer, cfg.train.best_metric) == ("embed", "action_top1")
    assert (cfg.data.sampling, cfg.data.train_crop) == ("official", "multiscale")
    assert (cfg.train.optimizer, cfg.train.lr_schedule, cfg.train.param_groups) == \
        ("sgd", "step", "tsm")
    assert load_config(MA52, ["train.amp=off"]).train.amp == "off"  # fp32 as released


def _finetune_model(embed_dim, tmp_path):
    """manet_r50 set up for fine-tuning (heads N(0, 0.001^2)), trunk from a local file."""
    import torchvision

    path = tmp_path / "r50.pth"
    if not path.exists():
        torch.manual_seed(5)
        torch.save(torchvision.models.resnet50(weights=None).state_dict(), path)
    torch.manual_seed(0)
    return create_model("manet_r50", embed_dim=embed_dim, clip_len=2, size=32,
                        pretrained=str(path)).eval()


def test_default_embedding_loss_at_init_matches_the_official_table(shared_ma52, tmp_path):
    """With the MA-52 config's table, lambda x MSE at initialisation is within 20 % of what the
    official table gives (the shipped unit-norm table alone is ~30x weaker)."""
    official = torch.from_numpy(load_label_embeddings(
        shared_ma52 / "official_label_embeddings.npy", 52))
    ours = torch.from_numpy(load_label_embeddings(load_config(MA52).model.label_embeddings, 52))
    unit = torch.from_numpy(load_label_embeddings("minilm", 52))
    x = torch.randn(52, 3, 2, 32, 32, generator=torch.Generator().manual_seed(1))
    y = torch.arange(52)  # every class once: the term's mean over the label set
    losses = {}
    for name, table in (("official", official), ("ours", ours), ("unit", unit)):
        with torch.no_grad():
            out = _finetune_model(table.shape[1], tmp_path)(x)
        losses[name] = float(JointEmbeddingLoss(table, 50.0)(out, y)["embed"]) * 50
    assert losses["official"] == pytest.approx(3.9, rel=0.1)  # the measured figure
    assert abs(losses["ours"] / losses["official"] - 1) < 0.2, losses
    assert losses["unit"] < losses["official"] / 10


def official_train_indices(n, segments, rng):
    """The release's SampleFrames(clip_len=1, frame_interval=1, num_clips=8) in training,
    restated from its definition: average interval n // segments; if positive, one random
    offset below it added to each segment start; else evenly spread positions, rounded."""
    avg = (n - 1 + 1) // segments
    if avg > 0:
        return np.arange(segments) * avg + rng.integers(0, avg, segments)
    return np.around(np.arange(segments) * (n / segments)).astype(int)


def test_official_train_sampling_gives_the_release_indices():
    for n in range(1, 601):
        a = segment_indices(n, 8, True, np.random.default_rng(n), rule="official")[0]
        b = official_train_indices(n, 8, np.random.default_rng(n))
        assert a.tolist() == b.tolist(), n
        if n >= 8:
            assert a.max() < (n // 8) * 8  # the last n mod 8 frames are never drawn
    draws = np.stack([segment_indices(60, 8, True, np.random.default_rng(s), rule="official")[0]
                      for s in range(300)])
    assert set(np.unique(draws[:, 0])) == set(range(7))  # offsets cover 0 .. 60 // 8 - 1
    ours = np.stack([segment_indices(60, 8, True, np.random.default_rng(s))[0]
                     for s in range(300)])
    assert ours.max() == 59 and draws.max() < 56  # "tsn" reaches the last frames
    test_official = segment_indices(77, 8, False, rule="official")
    assert test_official.tolist() == segment_indices(77, 8, False).tolist()


def test_head_multipliers_land_where_the_release_puts_them():
    """TSM parameter groups, counted by hand for manet_r18: with head_lr_layer=embed the x5/x10
    go to the embedding branch's last Linear and the classifier trains at x1 (bias x2)."""
    model = create_model("manet_r18", embed_dim=16, clip_len=2)
    for layer, expect_head in (("fc", model.fc), ("embed", model.embed[2])):
        groups = {g["name"]: g for g in param_groups(model, 1e-4, "tsm", layer)}
        assert groups["head_weight"]["params"] == [expect_head.weight]
        assert groups["head_bias"]["params"] == [expect_head.bias]
        assert (groups["head_weight"]["lr_mult"], groups["head_weight"]["weight_decay"]) == \
            (5.0, 1e-4)
        assert (groups["head_bias"]["lr_mult"], groups["head_bias"]["weight_decay"]) == \
            (10.0, 0.0)
        other = model.embed[2] if layer == "fc" else model.fc
        assert any(p is other.weight for p in groups["weight"]["params"])
        assert any(p is other.bias for p in groups["bias"]["params"])
        assert (groups["bias"]["lr_mult"], groups["bias"]["weight_decay"]) == (2.0, 0.0)
        bn = {id(p) for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)
              for p in m.parameters()}
        assert {id(p) for p in groups["norm"]["params"]} == bn
        assert (groups["norm"]["lr_mult"], groups["norm"]["weight_decay"]) == (1.0, 0.0)
        # 8 basic blocks x (2 conv + SE 2 linear) + stem conv + downsample convs (3) + the
        # non-head Linears (fc or embed[2], and embed[0]) take decay at x1
        n_weight = 8 * 4 + 1 + 3 + 2
        assert len(groups["weight"]["params"]) == n_weight
        assert sum(len(g["params"]) for g in groups.values()) == \
            len(list(model.parameters()))


def test_converted_checkpoint_starts_fine_tuning(tmp_path):
    """model.pretrained may name a microaction checkpoint (e.g. from `convert`): the trunk and
    the matching heads start from it; a head for another class count starts fresh."""
    from microaction.config import Config
    from microaction.engine.checkpoint import save_checkpoint
    from microaction.engine.runner import build_model

    torch.manual_seed(0)
    src = create_model("tsm_r18", num_classes=52, clip_len=2)
    save_checkpoint(tmp_path / "start.pt", {"model": "tsm_r18", "model_kwargs": {},
                                             "state_dict": src.state_dict()})
    cfg = Config()
    cfg.model.name, cfg.model.clip_len, cfg.model.pretrained = "tsm_r18", 2, \
        str(tmp_path / "start.pt")
    cfg.data.num_classes = 10
    model, _ = build_model(cfg)
    assert torch.equal(model.trunk.layer4[1].conv2.weight, src.trunk.layer4[1].conv2.weight)
    assert model.fc.weight.shape == (10, 512)
    cfg.model.name = "tsm_r34"
    from microaction.errors import CheckpointError

    with pytest.raises(CheckpointError, match="weights do not fit tsm_r34"):
        build_model(cfg)
