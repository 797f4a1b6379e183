"""Frame samplers: which frame indices of an n-frame video a model sees.

A sampler returns an int array of shape ``(num_clips, frames_per_clip)``.
"""

from __future__ import annotations

import numpy as np


def segment_indices(num_frames: int, num_segments: int, train: bool,
                    rng: np.random.Generator | None = None, num_clips: int = 1) -> np.ndarray:
    """TSN segment sampling: split the video into ``num_segments`` equal segments and take one
    frame from each -- a random frame in training, the segment centre at test.

    At test, ``num_clips > 1`` shifts the centre by ``k / num_clips`` of a segment for clip k.
    Videos shorter than ``num_segments`` repeat frames (indices stay in order).
    Returns ``(num_clips, num_segments)``.
    """
    _check_count(num_frames)
    seg = num_frames / num_segments
    starts = np.arange(num_segments) * seg
    if train:
        rng = rng if rng is not None else np.random.default_rng()
        offsets = rng.random((num_clips, num_segments)) * seg
        idx = np.floor(starts + offsets)
    else:
        shift = (np.arange(num_clips)[:, None] + 0.5) / num_clips
        idx = np.floor(starts + shift * seg)
    return np.clip(idx, 0, num_frames - 1).astype(np.int64)


def dense_indices(num_frames: int, clip_len: int, interval: int, train: bool,
                  rng: np.random.Generator | None = None, num_clips: int = 1) -> np.ndarray:
    """Dense clip sampling for 3D models: ``clip_len`` frames ``interval`` apart. Training draws a
    random start; test spreads ``num_clips`` starts uniformly (a single clip is centred). Frames
    past the end of a short video repeat the last frame. Returns ``(num_clips, clip_len)``."""
    _check_count(num_frames)
    span = (clip_len - 1) * interval + 1
    room = max(num_frames - span, 0)
    if train:
        rng = rng if rng is not None else np.random.default_rng()
        starts = rng.integers(0, room + 1, size=num_clips)
    else:
        starts = np.floor((np.arange(num_clips) + 0.5) / num_clips * (room + 1)).astype(np.int64)
        starts = np.minimum(starts, room)
    idx = starts[:, None] + np.arange(clip_len)[None, :] * interval
    return np.minimum(idx, num_frames - 1).astype(np.int64)


def _check_count(num_frames: int) -> None:
    if num_frames < 1:
        raise ValueError(f"cannot sample from a video with {num_frames} frames")
