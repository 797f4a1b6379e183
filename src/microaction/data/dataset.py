"""List-file video dataset.

A sample is a dict: ``video`` float ``(C, T, H, W)`` (or ``(V, C, T, H, W)`` with V test views =
clips x crops), ``label`` (action id), ``index`` and ``path``. A clip that cannot be read becomes
a :class:`SampleError` instead (a plain picklable record): DataLoader workers cannot raise our
errors intact, so the batch carries the error to the main process, which raises it there
(``on_error="raise"``) or counts and skips it (``"skip"``).

Randomness comes from a generator seeded by (seed, epoch, index), so a sample is the same whatever
the worker count -- which is what makes resumed training bit-exact.

``preload()`` decodes every clip once and keeps all its frames in RAM (at the input's short side);
samples are then cut from memory, identical to decoding each time. Only for sets that fit in memory
(the synthetic demo set: ~0.6 MB a clip); on two CPU cores it removes the decoding workers that
otherwise compete with training for the same cores.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset, default_collate

from microaction.data.clips import clip_views
from microaction.data.listfile import ListEntry, parse_list_file, split_files
from microaction.data.sampling import SEGMENT_RULES
from microaction.data.transforms import MULTISCALE, VideoTransform
from microaction.data.video import read_video
from microaction.errors import MicroactionError, VideoError
from microaction.spec import InputSpec

log = logging.getLogger(__name__)

ON_ERROR = ("raise", "skip")


@dataclass(frozen=True)
class SampleError:
    """A clip that could not be read: what a worker hands back instead of a sample."""

    path: str
    reason: str

    def error(self) -> VideoError:
        return VideoError(self.path, self.reason)


class VideoDataset(Dataset):
    def __init__(self, entries: list[ListEntry], video_dir: str | Path, spec: InputSpec,
                 train: bool, num_clips: int = 1, test_crops: int = 1, on_error: str = "raise",
                 seed: int = 0, crop_scales=MULTISCALE, train_crop: str = "multiscale",
                 sampling: str = "tsn"):
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {', '.join(ON_ERROR)}, got {on_error!r}")
        if sampling not in SEGMENT_RULES:
            raise ValueError(f"sampling must be one of {', '.join(SEGMENT_RULES)}, "
                             f"got {sampling!r}")
        self.entries, self.video_dir, self.spec = entries, Path(video_dir), spec
        self.train, self.num_clips = train, (1 if train else num_clips)
        self.transform = VideoTransform(spec, train, test_crops=1 if train else test_crops,
                                        scales=tuple(crop_scales), crop=train_crop)
        self.on_error, self.seed, self.epoch, self.sampling = on_error, seed, 0, sampling
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

    def missing_files(self) -> list[ListEntry]:
        """Entries whose video file does not exist (a cheap check before hours of training)."""
        return [e for e in self.entries if not (self.video_dir / e.path).is_file()]

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

        from microaction.progress import progress_bar

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
                    f"{need / 2**30:.2f} GiB, more than half of the {avail / 2**30:.2f} GiB "
                    f"available now; free memory or turn data.cache off for this dataset")
        with ThreadPoolExecutor(max(1, threads)) as pool, \
                progress_bar(total=len(self), initial=len(cache), desc=desc, unit="clip",
                             enabled=progress) as bar:
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
        path = self.path_of(index)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        try:
            source = path
            if self._cache is not None:
                source = self._cache[index]
                if isinstance(source, VideoError):
                    raise source
            video = clip_views(source, self.spec, self.transform, self.train, self.num_clips,
                               rng, self.sampling)
        except VideoError as exc:
            return SampleError(exc.path, exc.reason)
        return {"video": video[0] if self.num_views == 1 else video,
                "label": self.entries[index].label, "index": index, "path": str(path)}


def available_memory() -> int | None:
    """Bytes of RAM available now (None where the OS does not say)."""
    import os

    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def collate_samples(batch: list):
    """Collate good samples; unreadable clips go to ``errors`` (a list of SampleError) for the
    main process to raise or count. ``video`` etc. are absent when every sample failed."""
    good = [b for b in batch if not isinstance(b, SampleError)]
    out = default_collate(good) if good else {}
    out["errors"] = [b for b in batch if isinstance(b, SampleError)]
    return out


def check_batch(batch: dict, on_error: str) -> bool:
    """In the main process: raise the first unreadable clip's error (``on_error="raise"``) or
    log and skip them. Returns whether the batch has any sample left."""
    for err in batch["errors"]:
        if on_error == "raise":
            raise err.error()
        log.warning("skipping bad sample: %s: %s", err.path, err.reason)
    return "video" in batch
