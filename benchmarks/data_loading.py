"""Data-loading throughput: raw MA-52-sized clips (1080x1296, 30 fps) vs `microaction prepare`d.

Makes N synthetic clips, upscales them to MA-52's 1080x1296 portrait frames (H.264), prepares a
short-side-256 copy, then times a DataLoader producing MANet training inputs (8 segments, multi-
scale crop 224, flip, normalise) from each.

    python benchmarks/data_loading.py [--clips 24] [--length 60] [--workers 2]
"""

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from microaction.data.dataset import VideoDataset
from microaction.data.listfile import parse_list_file, write_list_file
from microaction.data.prepare import prepare_dataset
from microaction.synth.clips import generate_dataset
from microaction.data.video import read_video, write_video
from microaction.spec import InputSpec


def make_raw(root: Path, clips: int, frames: int) -> None:
    small = root / "small"
    generate_dataset(small, clips_per_class=1, size=270, length=frames, splits=("train",),
                     progress=False)
    entries = parse_list_file(small / "train_list_videos.txt")[:clips]
    raw = root / "raw"
    (raw / "videos_train").mkdir(parents=True)
    for e in entries:
        x = torch.from_numpy(read_video(small / "videos_train" / e.path).frames)
        big = torch.nn.functional.interpolate(x.permute(0, 3, 1, 2).float(), size=(1296, 1080),
                                              mode="bilinear", align_corners=False)
        big = big.clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
        write_video(raw / "videos_train" / e.path, big, crf=23)
    write_list_file(raw / "train_list_videos.txt", [(e.path, e.label) for e in entries])


def throughput(root: Path, workers: int, batch: int) -> float:
    ds = VideoDataset.from_split(root, "train", InputSpec(), train=True)
    loader = DataLoader(ds, batch_size=batch, num_workers=workers, shuffle=False)
    n, t0 = 0, time.perf_counter()
    for b in loader:
        n += b["video"].shape[0]
    return n / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--length", type=int, default=60, help="frames per clip")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        make_raw(root, args.clips, args.length)
        print(f"made {args.clips} raw 1080x1296 clips x {args.length} frames "
              f"in {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        prepare_dataset(root / "raw", root / "prepared", short_side=256, progress=False)
        prep_s = time.perf_counter() - t0
        print(f"prepare --short-side 256: {args.clips / prep_s:.1f} clips/s")
        raw = throughput(root / "raw", args.workers, args.batch)
        prepared = throughput(root / "prepared", args.workers, args.batch)
        size_raw = sum(p.stat().st_size for p in (root / "raw").rglob("*.mp4")) / args.clips
        size_prep = sum(p.stat().st_size for p in (root / "prepared").rglob("*.mp4")) / args.clips
    print(f"train loading, {args.workers} workers, 8x224 MANet augmentation:")
    print(f"  raw      {raw:6.1f} clips/s  ({size_raw / 1e6:.2f} MB/clip)")
    print(f"  prepared {prepared:6.1f} clips/s  ({size_prep / 1e6:.2f} MB/clip)")
    print(f"  speed-up {prepared / raw:.1f}x")


if __name__ == "__main__":
    main()
