import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from microaction.cli import main
from microaction.data.check import check_dataset
from microaction.data.listfile import parse_list_file
from microaction.data.sampling import segment_indices
from microaction.synth.motions import MOTION_ONLY_GROUPS, tent
from microaction.synth.clips import class_counts, frame_size, render_clip
from microaction.labels import MA52_TRAIN_COUNTS


def test_layout_round_trips_through_check(tiny_synth):
    report = check_dataset(tiny_synth, progress=False)
    assert report.ok, report.problems
    assert report.splits == ["train", "val", "test"]
    assert report.counts["train"].tolist() == [1] * 52
    assert all(e.label == 0 for e in parse_list_file(tiny_synth / "test_list_videos.txt"))
    truth = parse_list_file(tiny_synth / "test_list_videos_labeled.txt")
    assert sorted(e.label for e in truth) == list(range(52))
    names = [e.path for e in parse_list_file(tiny_synth / "train_list_videos.txt")]
    assert all(len(n) == len("0003_01_0001.mp4") for n in names)


def test_deterministic_given_seed(tmp_path):
    """Rendered frames are a pure function of the seed (encoded bytes may vary with x264)."""
    from microaction.synth.clips import plan_dataset, render_job

    jobs = plan_dataset(tmp_path, 1, size=48, length=6, seed=7, splits=("val",))[:6]
    for job in jobs:
        assert np.array_equal(render_job(job)[1], render_job(job)[1])
    other = render_clip(3, 4, 48, np.random.default_rng(8))
    assert not np.array_equal(other, render_clip(3, 4, 48, np.random.default_rng(9)))


def test_ma52_distribution_is_long_tailed():
    counts = class_counts(20, "ma52")
    train = np.array(counts["train"])
    assert train.min() >= 1 and abs(train.mean() - 20) < 1.5
    assert train.argmax() == int(np.argmax(MA52_TRAIN_COUNTS)) == 9
    assert np.corrcoef(train, MA52_TRAIN_COUNTS)[0, 1] > 0.99
    with pytest.raises(ValueError):
        class_counts(5, "zipf")


def test_frame_shape_is_portrait():
    assert frame_size(112) == (112, 134)
    assert render_clip(9, 3, 64, np.random.default_rng(0)).shape == (3, 76, 64, 3)


def test_warps_preserve_measure():
    u = np.linspace(0, 1, 200001)
    for warped in (tent(u, 1), tent(u, 2), 1 - u):
        hist = np.histogram(warped, bins=10, range=(0, 1))[0] / len(u)
        assert np.allclose(hist, 0.1, atol=0.01)


def _features(frames):
    g = frames.astype(np.float32).mean(-1)
    t, h, w = g.shape
    return g[:, :h // 4 * 4, :w // 4 * 4].reshape(t, h // 4, 4, w // 4, 4).mean((2, 4))


@pytest.mark.parametrize("pair, min_diff_acc",
                         [((17, 18), 0.85), ((29, 30), 0.85), ((26, 27), 0.85),
                          ((8, 10), 0.85), ((5, 9), 0.85), ((48, 49), 0.85)])
def test_motion_only_pairs_need_time(pair, min_diff_acc):
    """Seen as a model sees them -- the 8 segment-centre frames of a 32-frame clip -- single
    frames of a motion-only pair are indistinguishable; frame differences are not (a rhythm
    faster than the sampling would alias away)."""
    assert pair in MOTION_ONLY_GROUPS
    seen = segment_indices(32, 8, train=False)[0]
    single, motion, y = [], [], []
    for c in pair:
        for i in range(30):
            rng = np.random.default_rng([c, i])
            g = _features(render_clip(c, 32, 48, rng)[seen])
            single.append(g[rng.integers(len(g))].ravel())
            motion.append(np.concatenate([(g[-1] - g[0]).ravel(),
                                          np.abs(np.diff(g, axis=0)).mean(0).ravel()]))
            y.append(c)
    clf = LogisticRegression(C=0.1, max_iter=3000)
    acc_single = cross_val_score(clf, np.array(single), y, cv=5).mean()
    acc_motion = cross_val_score(clf, np.array(motion), y, cv=5).mean()
    assert acc_single < 0.65, acc_single
    assert acc_motion > min_diff_acc, acc_motion


def test_synth_cli_rejects_bad_arguments(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "x"), "--splits", "train,dev", "-q"]) == 1
    assert "unknown split 'dev'" in capsys.readouterr().err
    assert main(["synth", str(tmp_path / "y"), "--size", "8", "-q"]) == 1
