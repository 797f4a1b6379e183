"""Frame samplers: which frame indices of an n-frame video a model sees.

A sampler returns an int array of shape ``(num_clips, frames_per_clip)``.
"""

from __future__ import annotations

import numpy as np


SEGMENT_RULES = ("tsn", "official")


def segment_indices(length: int, num_segments: int, train: bool,
                    rng: np.random.Generator | None = None, num_clips: int = 1,
                    rule: str = "tsn") -> np.ndarray:
    """TSN segment sampling: split a video of ``length`` frames into ``num_segments`` segments
    and take one frame from each -- a random frame in training, the segment centre at test.

    Training rules: ``"tsn"`` cuts equal fractional segments that cover every frame;
    ``"official"`` is the MANet release's (mmaction2's ``SampleFrames``): segments of
    ``length // num_segments`` whole frames, so the last ``length % num_segments`` frames are
    never drawn; shorter videos than ``num_segments`` take evenly rounded positions. Test
    positions are the same under both rules. At test, ``num_clips > 1`` shifts the centre by
    ``k / num_clips`` of a segment for clip k. Returns ``(num_clips, num_segments)``.
    """
    _check_count(length)
    if rule not in SEGMENT_RULES:
        raise ValueError(f"segment rule must be one of {', '.join(SEGMENT_RULES)}, got {rule!r}")
    seg = length / num_segments
    starts = np.arange(num_segments) * seg
    if train:
        rng = rng if rng is not None else np.random.default_rng()
        if rule == "official":
            return np.stack([_official_train(length, num_segments, rng)
                             for _ in range(num_clips)])
        offsets = rng.random((num_clips, num_segments)) * seg
        idx = np.floor(starts + offsets)
    else:
        shift = (np.arange(num_clips)[:, None] + 0.5) / num_clips
        idx = np.floor(starts + shift * seg)
    return np.clip(idx, 0, length - 1).astype(np.int64)


def _official_train(length: int, num_segments: int, rng: np.random.Generator) -> np.ndarray:
    whole = length // num_segments
    if whole > 0:
        return (np.arange(num_segments) * whole + rng.integers(0, whole, num_segments)
                ).astype(np.int64)
    # shorter than num_segments: evenly spread, rounded half to even as numpy does
    return np.around(np.arange(num_segments) * (length / num_segments)).astype(np.int64)


def dense_indices(length: int, clip_len: int, interval: int, train: bool,
                  rng: np.random.Generator | None = None, num_clips: int = 1) -> np.ndarray:
    """Dense clip sampling for 3D models: ``clip_len`` frames ``interval`` apart. Training draws a
    random start; test spreads ``num_clips`` starts uniformly (a single clip is centred). A video
    shorter than the span takes the largest interval that fits (so the clip still covers the
    video: TimeSformer's 8 x 32 on a 2 s MA-52 clip becomes 8 frames ~8 apart); shorter than
    ``clip_len`` frames, the last frame repeats. Returns ``(num_clips, clip_len)``."""
    _check_count(length)
    if (clip_len - 1) * interval + 1 > length and clip_len > 1:
        interval = max(1, (length - 1) // (clip_len - 1))
    span = (clip_len - 1) * interval + 1
    room = max(length - span, 0)
    if train:
        rng = rng if rng is not None else np.random.default_rng()
        starts = rng.integers(0, room + 1, size=num_clips)
    else:
        starts = np.floor((np.arange(num_clips) + 0.5) / num_clips * (room + 1)).astype(np.int64)
        starts = np.minimum(starts, room)
    idx = starts[:, None] + np.arange(clip_len)[None, :] * interval
    return np.minimum(idx, length - 1).astype(np.int64)


def _check_count(length: int) -> None:
    if length < 1:
        raise ValueError(f"cannot sample from a video with {length} frames")
