"""Explanations that point at the right place, and exports that compute what PyTorch does."""

import json

import numpy as np
import pytest
import torch

from microaction.cli import main
from microaction.explain import gradcam, hottest_point
from microaction.models import create_model

SMALL = {"tsn_r18": {}, "tsm_r18": {}, "manet_r18": {}, "tin_r18": {}, "tanet_r18": {},
         "c3d_narrow": {"clip_len": 16}, "i3d_r18": {"clip_len": 8},
         "r2plus1d_r18": {"clip_len": 4}, "slowfast_r18": {"clip_len": 8},
         "timesformer_s": {"clip_len": 4}}


def squares(n, rng, moving=True, size=32, t=4):
    """Noise clips; with ``moving``, a bright 6 px square crossing the frame. Returns videos
    ``(n, 3, t, size, size)`` and the square's box per clip and frame ``(n, t, 4)``."""
    x = rng.normal(0, 0.3, (n, 3, t, size, size)).astype(np.float32)
    boxes = np.zeros((n, t, 4))
    if moving:
        for i in range(n):
            y0, x0 = rng.integers(2, size - 16, 2)
            dy, dx = rng.choice([-2, 2], 2)
            for f in range(t):
                yy, xx = y0 + 2 + dy * f, x0 + 2 + dx * f
                x[i, :, f, yy:yy + 6, xx:xx + 6] += 2.5
                boxes[i, f] = (xx, yy, xx + 6, yy + 6)
    return torch.from_numpy(x), boxes


def test_gradcam_of_a_square_detector_points_at_the_square():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = create_model("tsm_r18", num_classes=2, clip_len=4, size=32, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(60):
        pos, _ = squares(8, rng)
        neg, _ = squares(8, rng, moving=False)
        x, y = torch.cat([pos, neg]), torch.tensor([1] * 8 + [0] * 8)
        model.train()
        loss = torch.nn.functional.cross_entropy(model(x).logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    test, boxes = squares(12, np.random.default_rng(99))
    with torch.no_grad():
        assert (model(test).logits.argmax(1) == 1).float().mean() > 0.9  # it learned the task
    hits = 0
    for i in range(12):
        heat, probs, cls = gradcam(model, test[i:i + 1], class_id=1)
        assert heat.shape == (4, 32, 32) and heat.max() == pytest.approx(1.0)
        t, y, x = hottest_point(heat)
        x0, y0, x1, y1 = boxes[i, t]
        hits += (x0 - 3 <= x <= x1 + 3) and (y0 - 3 <= y <= y1 + 3)
    assert hits >= 10, hits  # the square covers 3.5 % of the frame: chance would be ~0.5 of 12


@pytest.mark.parametrize("name", sorted(SMALL))
def test_gradcam_for_every_family(name):
    torch.manual_seed(0)
    kw = {"size": 32, "clip_len": 4, **SMALL[name]}
    model = create_model(name, **kw)
    x = torch.randn(1, 3, kw["clip_len"], 32, 32)
    heat, probs, cls = gradcam(model, x)
    assert heat.shape == (kw["clip_len"], 32, 32) and np.isfinite(heat).all()
    assert cls == int(np.argmax(probs)) and heat.min() >= 0
    # a random network's evidence for one class may be negative everywhere (an all-zero map);
    # for some class it is not, and then the map peaks at 1
    peaks = [gradcam(model, x, class_id=c)[0].max() for c in range(12)]
    assert all(p == pytest.approx(1.0, abs=1e-5) or p == 0 for p in peaks)
    assert any(p == pytest.approx(1.0, abs=1e-5) for p in peaks)


def test_explain_cli(trained, tiny_synth, tmp_path, capsys):
    tmp, _ = trained
    clip = sorted((tiny_synth / "videos_val").iterdir())[2]
    assert main(["explain", str(tmp / "work" / "best.pt"), str(clip), "--out",
                 str(tmp_path / "why"), "--class", "9"]) == 0
    assert "9 nodding" in capsys.readouterr().out
    for name in ("explain.png", "explain.mp4", "heat.npy"):
        assert (tmp_path / "why" / name).is_file()
    from microaction.data.video import probe_video

    assert probe_video(tmp_path / "why" / "explain.mp4")[0] == 12  # every frame of the clip
    assert np.load(tmp_path / "why" / "heat.npy").shape == (4, 32, 32)
    assert main(["explain", str(tmp / "work" / "best.pt"), str(clip), "--out",
                 str(tmp_path / "x"), "--class", "99"]) == 1
    assert "--class 99 is outside 0..51" in capsys.readouterr().err


def test_pointing_boxes_follow_the_acting_part():
    """The geometry the pointing game scores against: a touching-nose clip's box follows the
    moving hand up to the face; a shaking-legs clip's box stays on the legs."""
    from microaction.synth.clips import clip_scene
    from microaction.synth.geometry import part_boxes

    scene = clip_scene(43, 32, 112, np.random.default_rng(1), realism=False)
    boxes = part_boxes(scene, 43)
    top = boxes[:, 1]
    assert top.min() < top.max() - 10  # the hand rises toward the face and comes back
    legs = part_boxes(clip_scene(24, 32, 112, np.random.default_rng(2), realism=False), 24)
    assert (legs[:, 1] > 0.55 * scene.height).all()  # below the hips


# ----------------------------------------------------------------------------- export


@pytest.mark.parametrize("name", sorted(SMALL))
def test_export_parity_every_family(name, tmp_path):
    from microaction.config import Config
    from microaction.engine.checkpoint import save_checkpoint
    from microaction.export import export
    from microaction.labels import ACTION_NAMES

    torch.manual_seed(0)
    kw = {"size": 32, "clip_len": 4, **SMALL[name]}
    m = create_model(name, **kw)
    ckpt = tmp_path / "m.pt"
    save_checkpoint(ckpt, {"model": name, "model_kwargs": m.model_kwargs,
                           "class_names": list(ACTION_NAMES), "input_spec": m.input_spec.to_dict(),
                           "config": Config().to_dict(), "state_dict": m.state_dict()})
    for fmt, suffix in (("onnx", ".onnx"), ("torchscript", ".ts")):
        meta = export(ckpt, fmt, tmp_path / f"m{suffix}")
        assert meta["parity_max_abs_softmax"] < 1e-4, (fmt, meta["parity_max_abs_softmax"])
        assert meta["input_spec"]["clip_len"] == kw["clip_len"] and meta["model"] == name
    import onnx

    proto = onnx.load(str(tmp_path / "m.onnx"))
    assert proto.opset_import[0].version == 17
    stored = json.loads({p.key: p.value for p in proto.metadata_props}["microaction"])
    assert stored["class_names"][9] == "nodding" and stored["opset"] == 17
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == \
        [3, kw["clip_len"], 32, 32]


def test_predict_with_exports_equals_the_checkpoint(trained, tiny_synth, tmp_path, capsys):
    tmp, _ = trained
    ckpt = tmp / "work" / "best.pt"
    clip = str(sorted((tiny_synth / "videos_test").iterdir())[1])
    assert main(["predict", str(ckpt), clip, "--json", "--topk", "52"]) == 0
    ref = {t["action_id"]: t["prob"] for t in
           json.loads(capsys.readouterr().out)["results"][0]["top"]}
    for fmt, out in (("onnx", tmp_path / "m.onnx"), ("torchscript", tmp_path / "m.pt")):
        assert main(["export", str(ckpt), "--format", fmt, "--out", str(out)]) == 0
        assert "checked against PyTorch" in capsys.readouterr().out
        assert main(["predict", str(out), clip, "--json", "--topk", "52"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert f"({fmt} export)" in doc["model"] and "SYNTHETIC" in doc["training"]
        got = {t["action_id"]: t["prob"] for t in doc["results"][0]["top"]}
        assert got.keys() == ref.keys()
        assert max(abs(got[k] - ref[k]) for k in ref) < 1e-5
    (tmp_path / "junk.onnx").write_bytes(b"nope")
    assert main(["predict", str(tmp_path / "junk.onnx"), clip]) == 1
    assert "not a loadable ONNX model" in capsys.readouterr().err
