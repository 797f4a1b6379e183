"""List-file video dataset.

A sample is a dict: ``video`` float ``(C, T, H, W)`` (or ``(V, C, T, H, W)`` with V test views =
clips x crops), ``label`` (action id), ``body`` (body-part id), ``index`` and ``path``.
Randomness comes from a generator seeded by (seed, epoch, index), so a sample is the same whatever
the worker count -- which is what makes resumed training bit-exact.

``preload()`` decodes every clip once and keeps all its frames in RAM (at the input's short side);
samples are then cut from memory, identical to decoding each time. Only for sets that fit in memory
(the synthetic demo set: ~0.6 MB a clip); on two CPU cores it removes the decoding workers that
otherwise compete with training for the same cores.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, default_collate

from microaction.data.listfile import ListEntry, parse_list_file, split_files
from microaction.data.sampling import dense_indices, segment_indices
from microaction.data.transforms import MULTISCALE, VideoTransform
from microaction.data.video import read_video
from microaction.errors import MicroactionError, VideoError
from microaction.labels import ACTION_TO_BODY
from microaction.spec import InputSpec

log = logging.getLogger(__name__)


class VideoDataset(Dataset):
    def __init__(self, entries: list[ListEntry], video_dir: str | Path, spec: InputSpec,
                 train: bool, num_clips: int = 1, test_crops: int = 1, on_error: str = "raise",
                 seed: int = 0, action_to_body=ACTION_TO_BODY, crop_scales=MULTISCALE,
                 train_crop: str = "multiscale"):
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        self.entries, self.video_dir, self.spec = entries, Path(video_dir), spec
        self.train, self.num_clips = train, (1 if train else num_clips)
        self.transform = VideoTransform(spec, train, test_crops=1 if train else test_crops,
                                        scales=tuple(crop_scales), crop=train_crop)
        self.on_error, self.seed, self.epoch = on_error, seed, 0
        self.action_to_body = action_to_body
        self._cache: dict[int, np.ndarray | VideoError] | None = None

    @classmethod
    def from_split(cls, root: str | Path, split: str, spec: InputSpec, train: bool,
                   num_classes: int | None = 52, **kw) -> "VideoDataset":
        list_file, video_dir = split_files(root, split)
        return cls(parse_list_file(list_file, num_classes), video_dir, spec, train, **kw)

    @property
    def num_views(self) -> int:
        return self.num_clips * self.transform.num_views

    @property
    def labels(self) -> np.ndarray:
        return np.array([e.label for e in self.entries], dtype=np.int64)

    def path_of(self, index: int) -> Path:
        return self.video_dir / self.entries[index].path

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def cached(self) -> bool:
        return self._cache is not None

    def preload(self, threads: int = 2, progress: bool = False, desc: str = "cache") -> int:
        """Decode every clip once (all frames, at the input's short side) and keep them in RAM.
        A clip that cannot be decoded raises now (``on_error="raise"``) or is skipped whenever it
        is asked for. Returns the bytes held."""
        from concurrent.futures import ThreadPoolExecutor

        from tqdm import tqdm

        def decode(index: int):
            try:  # PyAV releases the GIL while decoding, so threads overlap
                return read_video(self.path_of(index), None, short_side=self.spec.short_side,
                                  threads=False).frames
            except VideoError as exc:
                if self.on_error == "raise":
                    raise
                return exc

        cache: dict[int, np.ndarray | VideoError] = {}
        if len(self):  # the first clip estimates the size (and is kept)
            cache[0] = first = decode(0)
            need, avail = getattr(first, "nbytes", 0) * len(self), available_memory()
            if avail is not None and need > avail // 2:
                raise MicroactionError(
                    f"{self.video_dir}: keeping {len(self)} clips in RAM needs about "
                    f"{need / 2**30:.1f} GiB but {avail / 2**30:.1f} GiB is available; "
                    f"turn data.cache off for this dataset")
        with ThreadPoolExecutor(max(1, threads)) as pool, \
                tqdm(total=len(self), initial=len(cache), desc=desc, unit="clip",
                     disable=not progress, leave=False) as bar:
            for index, frames in enumerate(pool.map(decode, range(len(cache), len(self))),
                                           start=len(cache)):
                cache[index] = frames
                bar.update()
        self._cache = cache
        held = sum(f.nbytes for f in cache.values() if isinstance(f, np.ndarray))
        log.info("cached %d clips of %s in RAM (%.0f MB)", len(cache), self.video_dir,
                 held / 2**20)
        return held

    def __getitem__(self, index: int):
        entry = self.entries[index]
        path = self.path_of(index)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        try:
            video = self._load(index, path, rng)
        except VideoError as exc:
            if self.on_error == "raise":
                raise
            log.warning("skipping bad sample: %s", exc)
            return None
        return {"video": video, "label": entry.label, "body": self.action_to_body[entry.label],
                "index": index, "path": str(path)}

    def _load(self, index: int, path: Path, rng: np.random.Generator) -> torch.Tensor:
        spec, clips = self.spec, self.num_clips

        def select(n: int) -> np.ndarray:
            if spec.sampling == "segment":
                return segment_indices(n, spec.frames, self.train, rng, clips)
            return dense_indices(n, spec.frames, spec.interval, self.train, rng, clips)

        if self._cache is not None:
            cached = self._cache[index]
            if isinstance(cached, VideoError):
                raise cached
            frames = cached[select(len(cached)).reshape(-1)]
        else:
            frames = read_video(path, select, short_side=spec.short_side, threads=False).frames
        x = self.transform(frames, rng)  # (3, N, s, s) or (K, 3, N, s, s)
        if x.dim() == 4:
            x = x.unsqueeze(0)
        k, c, _, h, w = x.shape
        x = x.view(k, c, clips, spec.frames, h, w).permute(2, 0, 1, 3, 4, 5)
        x = x.reshape(clips * k, c, spec.frames, h, w)
        return x[0] if self.num_views == 1 else x


def available_memory() -> int | None:
    """Bytes of RAM available now (None where the OS does not say)."""
    import os

    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def collate_skipping(batch: list):
    """Collate samples, dropping the ``None`` of skipped bad videos; ``num_skipped`` counts them.
    Returns None when every sample of the batch was bad."""
    good = [b for b in batch if b is not None]
    if not good:
        return None
    out = default_collate(good)
    out["num_skipped"] = len(batch) - len(good)
    return out
