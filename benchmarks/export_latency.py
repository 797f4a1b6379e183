"""Predict latency per clip (decode + model) on 2 cores: PyTorch eager vs TorchScript vs ONNX
Runtime, for manet_r50 at 224 px (fresh weights: speed only) and a small model (the demo's
manet_r18 at 48 px).

    python benchmarks/export_latency.py [--small runs/demo/train/best.pt] [--repeats 10]

Clip: a synthetic MA-52-size clip (60 frames at 1080 x 1296, H.264). Each runner predicts the
same clip ``--repeats`` times after one warm-up; the median is reported, with the decode alone
measured the same way.
"""

import argparse
from pathlib import Path

import numpy as np
import torch

from microaction.export import ExportedPredictor, export
from microaction.inference import Predictor
from microaction.io import write_json
from timing import median_ms


def big_clip(path: Path) -> Path:
    from microaction.data.video import write_video
    from microaction.synth.clips import render_clip

    if not path.exists():
        small = render_clip(9, 60, 180, np.random.default_rng(1))
        write_video(path, np.repeat(np.repeat(small, 6, 1), 6, 2), crf=23)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/export_latency"))
    ap.add_argument("--small", type=Path, default=Path("runs/demo/train/best.pt"))
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    args.out.mkdir(parents=True, exist_ok=True)
    clip = big_clip(args.out / "clip_1080x1296.mp4")
    big = args.out / "manet_r50_fresh.pt"
    if not big.exists():
        import sys

        sys.path.insert(0, str(Path(__file__).parent))
        from timeline_speed import fresh_manet_r50

        fresh_manet_r50(big)
    results = {}
    for name, ckpt in (("manet_r50 224 px", big), ("manet_r18 48 px (demo)", args.small)):
        eager = Predictor.from_checkpoint(ckpt)
        from microaction.data.clips import clip_views

        decode = median_ms(lambda: clip_views(clip, eager.spec, eager.transform, False,
                                              threads=True), args.repeats)
        row = {"decode_ms": round(decode, 1),
               "eager_ms": round(median_ms(lambda: eager.scores(clip), args.repeats), 1)}
        for fmt, suffix in (("torchscript", ".ts"), ("onnx", ".onnx")):
            path = args.out / f"{ckpt.stem}{suffix}"
            if not path.exists():
                export(ckpt, fmt, path)
            runner = ExportedPredictor(path)
            row[f"{fmt}_ms"] = round(median_ms(lambda: runner.scores(clip), args.repeats), 1)
        results[name] = row
        print(name, row, flush=True)
    write_json(args.out / "export_latency.json", results)
    print("\n| model | decode only | PyTorch eager | TorchScript | ONNX Runtime |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['decode_ms']} ms | {r['eager_ms']} ms | {r['torchscript_ms']} ms |"
              f" {r['onnx_ms']} ms |")


if __name__ == "__main__":
    main()
