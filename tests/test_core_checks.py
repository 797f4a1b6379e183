"""Fast checks of the core pieces against independent definitions (hand-worked numbers,
explicit loops, textbook formulas). Each was written against a planted bug and seen to fail;
`make mutate` runs these with the other unit tests against every mutant of the core modules."""

import math

import numpy as np
import pytest
import torch

from microaction.cli import main


def test_train_loader_shards_are_disjoint(tiny_synth):
    from microaction.data.dataset import VideoDataset
    from microaction.engine.distributed import DistInfo
    from microaction.engine.loop import eval_loader, train_loader
    from microaction.spec import InputSpec

    ds = VideoDataset.from_split(tiny_synth, "val", InputSpec(clip_len=2, size=32, short_side=36),
                                 train=True)
    for make in (lambda r: train_loader(ds, 4, 0, 0, DistInfo(r, 4), epoch=1),
                 lambda r: eval_loader(ds, 4, 0, DistInfo(r, 4))):
        shards = [list(make(r).sampler) for r in range(4)]  # 52 = 4 x 13: no padding
        assert all(set(a).isdisjoint(b) for i, a in enumerate(shards) for b in shards[i + 1:])
        assert set().union(*map(set, shards)) == set(range(52))


def test_se_gate_is_the_per_frame_definition():
    """SE = x * sigmoid(W2 relu(W1 avgpool_hw(x))), pooled per frame (per sample), written out
    with explicit loops."""
    from microaction.models.layers import SqueezeExcite

    torch.manual_seed(0)
    se = SqueezeExcite(8, reduction=4)
    x = torch.randn(3, 8, 4, 5) * 3 + 1
    w1, w2 = se.fc1.weight, se.fc2.weight
    want = torch.empty_like(x)
    for n in range(3):
        pooled = torch.stack([x[n, c].sum() / 20 for c in range(8)])
        hidden = torch.clamp(w1 @ pooled, min=0)
        gate = 1 / (1 + torch.exp(-(w2 @ hidden)))
        for c in range(8):
            want[n, c] = x[n, c] * gate[c]
    assert torch.allclose(se(x), want, atol=1e-6)


def test_segment_consensus_averages_every_frame():
    """TSN's clip logits are the mean of each frame's logits (each frame as a 1-frame clip)."""
    from microaction.models import create_model

    torch.manual_seed(0)
    model = create_model("tsn_r18", num_classes=7, clip_len=4, size=32).eval()
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        whole = model(x).logits
        frames = torch.stack([model(x[:, :, t:t + 1]).logits for t in range(4)])
    assert torch.allclose(whole, frames.mean(0), atol=1e-5)
    assert not torch.allclose(whole, frames[0], atol=1e-3)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
@pytest.mark.parametrize("cmd", ["score", "submit"])
def test_non_finite_scores_are_refused(tmp_path, capsys, bad, cmd):
    s = np.full((3, 52), 0.01)
    s[1, 7] = bad
    np.save(tmp_path / "s.npy", s)
    (tmp_path / "l.txt").write_text("a.mp4 1\nb.mp4 2\nc.mp4 3\n")
    extra = ["--out", str(tmp_path / "s.zip")] if cmd == "submit" else []
    assert main([cmd, str(tmp_path / "s.npy"), "--list", str(tmp_path / "l.txt"), *extra]) == 1
    assert "NaN or inf" in capsys.readouterr().err
    assert not (tmp_path / "s.zip").exists()


def test_csv_without_vid_header_is_refused(tmp_path, capsys):
    (tmp_path / "s.csv").write_text("a.mp4," + ",".join(["0.1"] * 52) + "\n")
    (tmp_path / "l.txt").write_text("a.mp4 1\n")
    assert main(["score", str(tmp_path / "s.csv"), "--list", str(tmp_path / "l.txt")]) == 1
    assert "expected a header starting with 'vid'" in capsys.readouterr().err


def test_macro_f1_counts_only_labels_present():
    """Hand-worked: truth [0, 0, 1, 2], prediction [0, 1, 1, 2]. F1 of class 0 = 2/3 (P 1, R 1/2),
    class 1 = 2/3 (P 1/2, R 1), class 2 = 1; macro over the three present classes = 7/9 (over
    all 52 it would be 0.045)."""
    from microaction.metrics import ma52_report

    scores = np.eye(52)[[0, 1, 1, 2]]
    rep = ma52_report(scores, np.array([0, 0, 1, 2]))
    assert rep["action_f1_macro"] == pytest.approx(7 / 9)
    assert rep["action_top1"] == 0.75 and rep["body_top1"] == 1.0  # all four are body (0-4)
    assert rep["body_f1_macro"] == 1.0
    assert rep["f1_mean"] == pytest.approx((7 / 9 + 0.75 + 1 + 1) / 4)


def test_gradient_clipping_bounds_the_step():
    """SGD lr 1, no momentum: the parameter change equals the clipped gradient, so its global
    norm is the clip value (and far larger without clipping)."""
    from microaction.engine.distributed import DistInfo
    from microaction.engine.loop import Precision, train_one_epoch
    from microaction.models import ModelOutput

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Linear(4, 3)

        def forward(self, x):
            return ModelOutput(self.w(x.flatten(1)) * 100)

    class DS(torch.utils.data.Dataset):
        on_error = "raise"

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return {"video": torch.full((4,), float(i + 1)), "label": i % 3, "index": i}

    from microaction.data.dataset import collate_samples
    from microaction.losses import JointEmbeddingLoss

    steps = {}
    for clip in (0.01, None):
        torch.manual_seed(0)
        model = Tiny()
        before = [p.detach().clone() for p in model.parameters()]
        opt = torch.optim.SGD(model.parameters(), lr=1.0)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda it: 1.0)
        loader = torch.utils.data.DataLoader(DS(), batch_size=4, collate_fn=collate_samples)
        train_one_epoch(model, JointEmbeddingLoss(None), opt, sched, loader, DistInfo(),
                        Precision(), clip)
        steps[clip] = math.sqrt(sum(float(((p.detach() - b) ** 2).sum())
                                    for p, b in zip(model.parameters(), before)))
    assert steps[0.01] == pytest.approx(0.01, rel=1e-4)
    assert steps[None] > 1.0


def test_amp_path_selection(monkeypatch):
    from microaction.engine.loop import make_precision

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert make_precision("auto", cpu).dtype is None  # bf16 autocast is slower on CPUs here
    assert make_precision("off", cuda).dtype is None
    assert make_precision("bf16", cpu).dtype is torch.bfloat16
    assert make_precision("fp16", cpu).scaler is None  # no grad scaler off the GPU
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert make_precision("auto", cuda).dtype is torch.bfloat16
    assert make_precision("auto", cuda).scaler is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GradScaler warns that CUDA is absent here
        p = make_precision("auto", cuda)
    assert p.dtype is torch.float16 and p.scaler is not None
    from microaction.errors import ConfigError

    with pytest.raises(ConfigError, match="train.amp must be one of auto, off, bf16, fp16"):
        make_precision("fp8", cpu)


def test_label_smoothing_is_the_textbook_formula():
    """Hand-worked: logits [2, 0, 0], label 0, eps 0.3 -> -sum(q log p), q = (0.8, 0.1, 0.1)."""
    from microaction.losses import JointEmbeddingLoss
    from microaction.models import ModelOutput

    logits = torch.tensor([[2.0, 0.0, 0.0]])
    z = math.log(math.exp(2) + 2)
    want = 0.8 * (z - 2) + 0.1 * z + 0.1 * z
    got = JointEmbeddingLoss(None, label_smoothing=0.3)(ModelOutput(logits), torch.tensor([0]))
    assert float(got["loss"]) == pytest.approx(want, rel=1e-6)


def test_joint_loss_hand_worked():
    """CE of zero logits over 4 classes is ln 4; MSE of a zero embedding against rows (1, 3) and
    (2, 2) is (1 + 9 + 4 + 4) / 4 = 4.5; weight 2 -> ln 4 + 9."""
    from microaction.losses import JointEmbeddingLoss
    from microaction.models import ModelOutput

    table = torch.tensor([[1.0, 3.0], [2.0, 2.0], [5.0, 5.0], [0.0, 0.0]])
    out = ModelOutput(torch.zeros(2, 4), torch.zeros(2, 2))
    got = JointEmbeddingLoss(table, weight=2.0)(out, torch.tensor([0, 1]))
    assert float(got["ce"]) == pytest.approx(math.log(4))
    assert float(got["embed"]) == pytest.approx(4.5)
    assert float(got["loss"]) == pytest.approx(math.log(4) + 9)
