import numpy as np
import pytest

from microaction.data.sampling import dense_indices, segment_indices


def test_segment_train_one_random_frame_per_segment():
    rng = np.random.default_rng(0)
    for _ in range(50):
        idx = segment_indices(60, 8, train=True, rng=rng)
        assert idx.shape == (1, 8)
        lo = np.floor(np.arange(8) * 7.5)
        hi = np.floor((np.arange(8) + 1) * 7.5)
        assert np.all(idx[0] >= lo) and np.all(idx[0] <= hi)
    draws = np.stack([segment_indices(60, 8, True, rng)[0] for _ in range(200)])
    assert len(np.unique(draws[:, 0])) > 4  # really random within the segment


def test_segment_test_centres_and_clips():
    assert segment_indices(80, 8, train=False).tolist() == [[5, 15, 25, 35, 45, 55, 65, 75]]
    two = segment_indices(80, 8, train=False, num_clips=2)
    assert two.shape == (2, 8) and two[0, 0] == 2 and two[1, 0] == 7


def test_segment_short_video_repeats_in_order():
    for train in (True, False):
        idx = segment_indices(3, 8, train, np.random.default_rng(1))[0]
        assert idx.min() >= 0 and idx.max() <= 2 and np.all(np.diff(idx) >= 0)


def test_dense_clip_and_short_video():
    rng = np.random.default_rng(0)
    idx = dense_indices(100, 16, 2, train=True, rng=rng)[0]
    assert np.all(np.diff(idx) == 2) and idx[-1] < 100
    test = dense_indices(100, 16, 2, train=False, num_clips=3)
    assert test.shape == (3, 16) and np.all(np.diff(test[:, 0]) > 0) and test.max() < 100
    centred = dense_indices(41, 8, 1, train=False)[0]
    assert abs(centred[0] - (41 - 8) / 2) <= 1  # a single test clip is centred
    short = dense_indices(5, 8, 2, train=True, rng=rng)[0]
    assert short.max() == 4 and np.all(np.diff(short) >= 0)


def test_zero_frames_is_an_error():
    with pytest.raises(ValueError, match="0 frames"):
        segment_indices(0, 8, train=False)
