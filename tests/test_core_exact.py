"""Exact, hand-worked expectations for the core modules -- label names, the MA-52 report's
every field, score files, submissions, sampling at its boundaries, optimiser groups and the LR
schedule at its edges. Written against the mutants that survived `make mutate`; each test
fails when its line of the code is changed."""

import logging
import math

import numpy as np
import pytest
import torch

from microaction.errors import ListFileError, MicroactionError
from microaction.labels import LabelSpace, body_of, read_label_names
from microaction.metrics import format_table, ma52_report, topk_accuracy


# ----------------------------------------------------------------------------- label names


def test_label_names_file_edge_cases(tmp_path):
    f = tmp_path / "label_name.txt"
    f.write_bytes("\ufeff0\tcafé au lait\n\n1\tnodding\n".encode("utf-8"))  # BOM, blank line
    assert read_label_names(f) == ["café au lait", "nodding"]
    for text, where, what in (("0\tone\nx\ttwo\n", ":2", "expected '<id><TAB><name>'"),
                              ("0\tone\n1\n", ":2", "expected '<id><TAB><name>'"),
                              ("0\tone\n2\tthree\n", ":2", "expected id 1, got 2")):
        f.write_text(text)
        with pytest.raises(ListFileError) as err:
            read_label_names(f)
        assert str(err.value).startswith(f"{f}{where}: {what}"), str(err.value)
    f.write_text("\n \n")
    with pytest.raises(ListFileError) as err:
        read_label_names(f)
    assert str(err.value) == f"{f}: no label names"
    with pytest.raises(ListFileError) as err:
        read_label_names(tmp_path)  # a directory
    assert str(err.value).startswith(f"{tmp_path}: cannot read label names (")


def test_label_space_edges(tmp_path, caplog):
    with pytest.raises(MicroactionError, match="a label space needs at least one class, got 0"):
        LabelSpace.from_count(0)
    one = LabelSpace.from_count(1)
    assert one.names == ("0",) and one.body_name_of(0) is None and one.body_of(0) is None
    with caplog.at_level(logging.INFO, logger="microaction.labels"):
        assert len(LabelSpace.for_root(tmp_path)) == 52  # no file, no count: MA-52
    assert [r.getMessage() for r in caplog.records if r.name == "microaction.labels"] == [
        f"{tmp_path / 'label_name.txt'} not found: using the built-in MA-52 class names"]
    bg = LabelSpace.ma52(background=True)
    assert bg.names[-1] == "no action" and len(LabelSpace.ma52()) == 52
    with pytest.raises(ValueError) as err:
        body_of(-1)
    assert str(err.value) == "action id -1 is outside 0..51"


# ----------------------------------------------------------------------------- the report


def test_every_field_of_the_report_by_hand():
    """Truth [0, 0, 1, 9], prediction [0, 1, 1, 9] (classes 0, 1, 9 present of 52)."""
    scores = np.zeros((4, 52))
    scores[[0, 1, 2, 3], [0, 1, 1, 9]] = 1.0
    rep = ma52_report(scores, np.array([0.0, 0.0, 1.0, 9.0]))  # labels may come as floats
    assert rep["num_videos"] == 4
    cm = np.array(rep["action_confusion"])
    assert cm.shape == (52, 52) and cm[0, 0] == 1 and cm[0, 1] == 1 and cm[1, 1] == 1 and \
        cm[9, 9] == 1 and cm.sum() == 4
    # class accuracy: class 0 1/2, class 1 1/1, class 9 1/1 (absent classes left out)
    assert rep["mean_class_accuracy"] == pytest.approx((0.5 + 1 + 1) / 3)
    pc = rep["per_class"]
    assert set(pc) == {"precision", "recall", "f1", "support"}
    assert len(pc["precision"]) == 52 and pc["precision"][0] == 1.0 and pc["precision"][1] == 0.5
    assert pc["recall"][0] == 0.5 and pc["f1"][9] == 1.0 and pc["support"][:2] == [2, 1]
    assert pc["precision"][5] == 0.0  # never predicted: 0, not 1
    body = np.array(rep["body_confusion"])
    assert body.shape == (7, 7) and body[0, 0] == 3 and body[1, 1] == 1  # 0, 1 body; 9 head
    assert rep["body_top1"] == 1.0 and rep["body_f1_macro"] == 1.0
    with pytest.raises(ValueError) as err:
        ma52_report(np.full((2, 52), np.nan), np.array([0, 1]))
    assert str(err.value) == "scores contain NaN or inf"
    with pytest.raises(ValueError) as err:
        ma52_report(np.zeros((2, 10)), np.array([0, 1]), action_to_body=[0] * 9)
    assert str(err.value) == "10 score columns but an action->body map of 9 actions"


def test_no_body_level_report_keys():
    rep = ma52_report(np.eye(10)[[0, 1]], np.array([0, 1]), None)
    for key in ("body_top1", "body_f1_macro", "body_f1_micro", "body_confusion"):
        assert key in rep and rep[key] is None


def test_ties_rank_the_lower_class_first():
    """Equal scores: the lower class id ranks first (a stable sort), in top-k and submissions."""
    from microaction.labels import ACTION_TO_BODY
    from microaction.scores import submission_rows

    scores = np.random.default_rng(0).integers(0, 3, (1, 52)).astype(float)
    top = submission_rows(scores, ["v"], ACTION_TO_BODY)[0][1:6]
    assert top == [0, 9, 11, 14, 15]  # the 2s, in id order
    assert topk_accuracy(scores, np.array([15]), 5) == 1.0
    assert topk_accuracy(scores, np.array([19]), 5) == 0.0  # also a 2, but sixth


def test_format_table_exact():
    rep = {"action_top1": 0.5, "action_top5": 1.0, "body_top1": None, "action_f1_macro": 0.25,
           "action_f1_micro": 0.5, "body_f1_macro": None, "body_f1_micro": None,
           "f1_mean": 0.375}
    assert format_table(rep).splitlines() == [
        "action_top1       50.00 %", "action_top5      100.00 %", "body_top1        n/a",
        "action_f1_macro   25.00 %", "action_f1_micro   50.00 %", "body_f1_macro    n/a",
        "body_f1_micro    n/a", "f1_mean           37.50 %"]


# ----------------------------------------------------------------------------- score files


def test_score_file_shapes_and_pickled_npy(tmp_path):
    from microaction.scores import load_scores, write_scores

    np.save(tmp_path / "flat.npy", np.ones(52))
    np.save(tmp_path / "empty.npy", np.zeros((0, 52)))
    for name in ("flat.npy", "empty.npy"):
        with pytest.raises(MicroactionError) as err:
            load_scores(tmp_path / name)
        assert str(err.value).startswith(f"{tmp_path / name}: scores must be a non-empty "
                                         f"(videos x classes) table, got shape")
    np.save(tmp_path / "one.npy", np.ones((1, 52)))
    assert load_scores(tmp_path / "one.npy").shape == (1, 52)  # a single video is fine
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(MicroactionError, match="obj.npy: cannot read scores"):
        load_scores(tmp_path / "obj.npy")  # object arrays need pickle: refused
    (tmp_path / "bad.csv").write_text("vid,s0\na.mp4,notanumber\n")
    with pytest.raises(MicroactionError) as err:
        load_scores(tmp_path / "bad.csv")
    assert "bad.csv: cannot read scores (ValueError:" in str(err.value)
    s = np.array([[0.25, 0.75]], np.float64)
    write_scores(tmp_path, s, ["a.mp4"])
    assert np.load(tmp_path / "scores.npy").dtype == np.float32
    assert (tmp_path / "scores.csv").read_bytes() == b"vid,score_0,score_1\na.mp4,0.25,0.75\n"
    assert load_scores(tmp_path / "scores.csv").dtype == np.float64


def test_submission_needs_ma52_classes(tmp_path):
    import zipfile

    from microaction.labels import ACTION_TO_BODY
    from microaction.scores import write_submission

    with pytest.raises(MicroactionError) as err:
        write_submission(tmp_path / "s.zip", np.zeros((1, 53)), ["v"], None)
    assert str(err.value) == ("the MA-52 submission needs MA-52's 52 classes (with body parts), "
                              "got 53")
    write_submission(tmp_path / "s.zip", np.eye(52)[[3]], ["v"], ACTION_TO_BODY)
    with zipfile.ZipFile(tmp_path / "s.zip") as z:
        assert z.getinfo("prediction.csv").compress_type == zipfile.ZIP_DEFLATED
        assert z.read("prediction.csv").endswith(b"\n") and b"\r" not in z.read("prediction.csv")


# ----------------------------------------------------------------------------- sampling


def test_segment_indices_exact():
    from microaction.data.sampling import segment_indices

    idx = segment_indices(8, 8, train=False)
    assert idx.dtype == np.int64 and idx.tolist() == [[0, 1, 2, 3, 4, 5, 6, 7]]
    train = segment_indices(8, 8, train=True)  # no rng given: a fresh one is made
    assert train.tolist() == [[0, 1, 2, 3, 4, 5, 6, 7]] and train.dtype == np.int64
    official = segment_indices(5, 8, True, np.random.default_rng(0), rule="official")
    assert official.dtype == np.int64 and official.tolist() == [[0, 1, 1, 2, 2, 3, 4, 4]]
    with pytest.raises(ValueError) as err:
        segment_indices(8, 8, True, rule="mmaction")
    assert str(err.value) == "segment rule must be one of tsn, official, got 'mmaction'"


def test_dense_indices_at_the_boundaries():
    from microaction.data.sampling import dense_indices

    # the span fits exactly (8 frames 2 apart = 15 frames): nothing shrinks, the start is 0
    assert dense_indices(15, 8, 2, False).tolist() == [[0, 2, 4, 6, 8, 10, 12, 14]]
    for s in range(20):
        assert dense_indices(15, 8, 2, True, np.random.default_rng(s))[0, 0] == 0
    # one frame short: the interval shrinks to 1 (the largest that fits), centred
    assert dense_indices(14, 8, 2, False).tolist() == [[3, 4, 5, 6, 7, 8, 9, 10]]
    # TimeSformer's 8 x 32 on a 60-frame clip: interval 59 // 7 = 8, span 57, room 3
    assert dense_indices(60, 8, 32, False).tolist() == [[2, 10, 18, 26, 34, 42, 50, 58]]
    # train starts cover 0 .. room, both ends
    starts = {int(dense_indices(20, 4, 5, True, np.random.default_rng(s))[0, 0])
              for s in range(200)}
    assert starts == {0, 1, 2, 3, 4}  # span 16 in 20 frames: room 4, starts 0 .. 4
    assert dense_indices(5, 8, 2, False).tolist() == [[0, 1, 2, 3, 4, 4, 4, 4]]
    assert dense_indices(30, 1, 7, False).tolist() == [[15]]  # one frame: centred
    two = dense_indices(100, 16, 2, False, num_clips=2)
    assert two.dtype == np.int64 and two[:, 0].tolist() == [17, 52]


# ----------------------------------------------------------------------------- optimiser


class _Wrapped(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.module = inner


def test_groups_for_any_module_and_plain_style():
    from microaction.engine.optim import build_optimizer, param_groups

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                              torch.nn.Linear(4, 2))
    net[0].weight.requires_grad_(False)  # a frozen tensor is left out, the rest still grouped
    groups = {g["name"]: g for g in param_groups(net, 0.1)}  # head_layer defaults to "fc"
    assert set(groups) == {"weight", "bias", "norm"}  # no fc: no head groups
    assert groups["weight"]["params"] == [net[2].weight] and groups["weight"]["lr_mult"] == 1.0
    assert groups["weight"]["weight_decay"] == 0.1
    assert groups["bias"]["params"] == [net[0].bias, net[2].bias]
    wrapped = param_groups(_Wrapped(net), 0.1)  # DDP's .module is looked through
    assert [len(g["params"]) for g in wrapped] == [len(g["params"]) for g in groups.values()]
    plain = build_optimizer(net, 0.5, 0.9, 0.01, style="plain", kind="adamw")
    (g,) = plain.param_groups
    assert isinstance(plain, torch.optim.AdamW) and g["lr"] == 0.5 and g["weight_decay"] == 0.01
    assert g["betas"] == (0.9, 0.999) and len(g["params"]) == 5 and g["lr_mult"] == 1.0


class _Net(torch.nn.Module):
    """A trunk conv, a norm, an embedding branch of three Linear layers and an ``fc`` head,
    named as the models name them."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.embed = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Linear(6, 5),
                                         torch.nn.Linear(5, 3))
        self.fc = torch.nn.Linear(4, 2)


def test_sgd_recipe_reaches_every_group():
    """The MANet recipe's optimiser, at its defaults (TSM groups, SGD): every trainable tensor
    in exactly one group; each group's rate is the base rate times its multiplier (other biases
    x2, head weight x5, head bias x10) with its own decay; momentum as given; the head found
    through DDP's ``.module``, or moved to the embedding branch's last Linear."""
    from microaction.engine.optim import build_optimizer, param_groups

    net = _Net()
    opt = build_optimizer(net, 0.01, 0.8, 5e-4)
    assert type(opt) is torch.optim.SGD
    by = {g["name"]: g for g in opt.param_groups}
    assert {k: (pytest.approx(g["lr"]), g["weight_decay"]) for k, g in by.items()} == {
        "weight": (0.01, 5e-4), "bias": (0.02, 0.0), "norm": (0.01, 0.0),
        "head_weight": (0.05, 5e-4), "head_bias": (0.1, 0.0)}
    assert by["head_weight"]["params"] == [net.fc.weight]
    assert all(g["momentum"] == 0.8 for g in opt.param_groups)
    ids = sorted(id(p) for g in opt.param_groups for p in g["params"])
    assert ids == sorted(id(p) for p in net.parameters())
    wrapped = {g["name"]: g["params"] for g in param_groups(_Wrapped(net), 5e-4)}
    assert wrapped == {k: g["params"] for k, g in by.items()}
    moved = {g["name"]: g for g in build_optimizer(net, 0.01, 0.8, 5e-4,
                                                    head_layer="embed").param_groups}
    assert moved["head_weight"]["params"] == [net.embed[2].weight]
    assert moved["head_bias"]["params"] == [net.embed[2].bias]
    bare = torch.nn.Sequential(torch.nn.Linear(2, 2))
    bare.fc = torch.nn.Linear(2, 2)  # no embedding branch: "embed" falls back to the classifier
    assert {g["name"]: g["params"] for g in param_groups(bare, 0.0, head_layer="embed")}[
        "head_weight"] == [bare.fc.weight]


def test_adamw_takes_momentum_as_beta1_and_frozen_tensors_stay_out():
    from microaction.engine.optim import build_optimizer, transformer_groups

    opt = build_optimizer(_Net(), 0.001, 0.8, 0.05, style="plain", kind="adamw")
    assert type(opt) is torch.optim.AdamW and opt.param_groups[0]["betas"] == (0.8, 0.999)
    lin = torch.nn.Linear(2, 2)
    lin.weight.requires_grad_(False)  # frozen first: the module's bias is still grouped
    decay, rest = transformer_groups(torch.nn.Sequential(lin), 0.1)
    assert decay["params"] == [] and rest["params"] == [lin.bias]


def test_transformer_groups():
    from microaction.engine.optim import build_optimizer
    from microaction.models import create_model

    model = create_model("timesformer_s", clip_len=2, size=32)
    opt = build_optimizer(model, 1e-3, 0.9, 0.05, style="transformer", kind="adamw")
    decay, rest = opt.param_groups
    assert decay["weight_decay"] == 0.05 and rest["weight_decay"] == 0.0
    decayed = {id(p) for p in decay["params"]}
    assert id(model.blocks[0].attn.in_proj_weight) in decayed
    assert id(model.blocks[0].mlp[0].weight) in decayed and id(model.fc.weight) in decayed
    for p in (model.cls_token, model.pos_embed, model.time_embed, model.norm.weight,
              model.blocks[0].attn.in_proj_bias, model.fc.bias):
        assert id(p) not in decayed
    assert len(decay["params"]) + len(rest["params"]) == len(list(model.parameters()))
    assert decay["lr"] == rest["lr"] == 1e-3


def _lrs(n, **kw):
    from microaction.engine.optim import build_scheduler

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = build_scheduler(opt, **kw)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_schedule_edges():
    # one iteration an epoch: a step after epoch 2 means iteration 2
    assert _lrs(4, iters_per_epoch=1, steps=(2,), gamma=0.5) == [1.0, 1.0, 0.5, 0.5]
    # a 2-epoch warm-up over 2 iterations an epoch: (epoch + 1/2) / 2
    assert _lrs(5, iters_per_epoch=2, steps=(9,), warmup_epochs=2.0) == \
        pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0])
    # cosine over a single epoch after half an epoch of warm-up, 4 iterations an epoch:
    # warm-up (0 + 1/4) / 0.5, (1/4 + 1/4) / 0.5, then cos over the half epoch left
    assert _lrs(4, iters_per_epoch=4, schedule="cosine", epochs=1, warmup_epochs=0.5) == \
        pytest.approx([0.5, 1.0, 1.0, 0.5 * (1 + math.cos(math.pi * 0.5))])


def test_dense_sampling_on_a_short_video_takes_the_largest_interval_that_fits():
    # oracle: search every interval from the asked one down to 1
    from microaction.data.sampling import dense_indices

    for clip_len, interval in ((8, 8), (8, 32), (4, 5), (16, 2)):
        for length in range(clip_len, 3 * clip_len * interval):
            want = next(i for i in range(interval, 0, -1) if (clip_len - 1) * i + 1 <= length)
            idx = dense_indices(length, clip_len, interval, False)[0]
            assert (np.diff(idx) == want).all(), (clip_len, interval, length, idx)
            assert idx[-1] <= length - 1


def test_dense_training_starts_come_from_the_given_generator():
    from microaction.data.sampling import dense_indices

    draw = [dense_indices(200, 8, 2, True, np.random.default_rng(7), num_clips=4)
            for _ in range(2)]
    assert (draw[0] == draw[1]).all()  # the same seed gives the same clips
    other = dense_indices(200, 8, 2, True, np.random.default_rng(8), num_clips=4)
    assert not (other == draw[0]).all()
    assert dense_indices(200, 8, 2, True).shape == (1, 8)  # no generator: a fresh one


@pytest.mark.parametrize("iters", [1, 3])
def test_warmup_rises_in_equal_steps_to_the_full_rate(iters):
    # iteration i of the W x n warm-up iterations runs at (i + 1) / (W x n) of the base rate
    import torch

    from microaction.engine.optim import build_scheduler

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = build_scheduler(opt, iters_per_epoch=iters, warmup_epochs=2, schedule="step",
                            steps=(30, 60))
    n = 2 * iters
    for i in range(n + 2):
        assert opt.param_groups[0]["lr"] == pytest.approx(min(i + 1, n) / n), i
        opt.step()
        sched.step()
