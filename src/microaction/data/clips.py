"""One clip -> tensor path, shared by training, evaluation, prediction and timelines: which frame
indices a model sees (from its :class:`InputSpec`), and how the decoded frames become the
``(V, C, T, H, W)`` views it is fed (V = clips x crops)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from microaction.data.sampling import dense_indices, segment_indices
from microaction.data.transforms import VideoTransform
from microaction.data.video import read_video
from microaction.spec import InputSpec


def frame_selector(spec: InputSpec, train: bool, rng: np.random.Generator | None = None,
                   num_clips: int = 1, sampling: str = "tsn") -> Callable[[int], np.ndarray]:
    """``length -> (num_clips, clip_len)`` frame indices for a video of ``length`` frames:
    segment sampling (2D models) or dense clips (3D models), as ``spec`` says. ``sampling``
    chooses the training segment rule ("tsn" or "official", see ``segment_indices``)."""
    def select(length: int) -> np.ndarray:
        if spec.sampling == "segment":
            return segment_indices(length, spec.clip_len, train, rng, num_clips, sampling)
        return dense_indices(length, spec.clip_len, spec.interval, train, rng, num_clips)
    return select


def frames_to_views(frames: np.ndarray, spec: InputSpec, transform: VideoTransform,
                    num_clips: int = 1, rng: np.random.Generator | None = None) -> torch.Tensor:
    """Frames ``(num_clips * clip_len, H, W, 3)`` uint8 in selector order -> views
    ``(num_clips * crops, C, clip_len, size, size)`` float, clip-major."""
    x = transform(frames, rng)  # (3, N, s, s) or (crops, 3, N, s, s)
    if x.dim() == 4:
        x = x.unsqueeze(0)
    crops, c, _, h, w = x.shape
    x = x.view(crops, c, num_clips, spec.clip_len, h, w).permute(2, 0, 1, 3, 4, 5)
    return x.reshape(num_clips * crops, c, spec.clip_len, h, w)


def clip_views(source: str | Path | np.ndarray, spec: InputSpec, transform: VideoTransform,
               train: bool, num_clips: int = 1, rng: np.random.Generator | None = None,
               sampling: str = "tsn", threads: bool = False) -> torch.Tensor:
    """The views a model sees of one video: ``source`` is a file (decoded, only the selected
    frames converted; ``threads``: let FFmpeg decode with threads, for the main process) or the
    video's every frame ``(length, H, W, 3)`` already in memory.
    Returns ``(V, C, clip_len, size, size)``."""
    select = frame_selector(spec, train, rng, num_clips, sampling)
    if isinstance(source, np.ndarray):
        frames = source[select(len(source)).reshape(-1)]
    else:
        frames = read_video(source, select, short_side=spec.short_side, threads=threads).frames
    return frames_to_views(frames, spec, transform, num_clips, rng)
