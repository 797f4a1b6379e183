"""Timeline speed and memory on 2 cores, at MA-52's resolution (1080 x 1296).

    python benchmarks/timeline_speed.py [--out runs/timeline_speed] [--small runs/demo/train/best.pt]
        [--r50-10-only] [--r50-strides 1,2]

Makes a 10-minute synthetic session rendered at 180 x 216 and enlarged 6x (nearest) to
1080 x 1296, H.264 (x264 veryfast, 2 threads), and a 30-minute one by joining three copies of
its packets (no re-encoding). Then runs ``microaction timeline`` in a fresh process for
manet_r50 at 224 px (fresh weights: only speed is measured) and for a small model (the demo's
manet_r18 at 48 px; fresh weights of the same model when that checkpoint is absent -- the speed
does not depend on the weights), window 2 s every 1 s (manet_r50 also at the other strides of
``--r50-strides``), the timeline's default batch and memory layout for each model: wall time,
real-time factor (video seconds per wall second) and peak resident memory of the process (its
``ru_maxrss``).

Caveat: the enlarged synthetic frames compress far better than camera footage, so decoding them
is cheaper than decoding real MA-52 video (measured on a real clip earlier: ~0.2 s per clip).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from microaction.io import atomic_path, write_json
from microaction.synth.sessions import SessionPlan, plan_instances, render_session


def make_video(path: Path, minutes: float, seed: int = 3) -> None:
    import av

    if path.exists():
        return
    fps = 30.0
    length = int(minutes * 60 * fps)
    rng = np.random.default_rng(seed)
    plan = SessionPlan(path.stem, length, fps, seed, 5, plan_instances(length, fps, rng))
    with atomic_path(path, ".mp4") as tmp, av.open(str(tmp), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(30))
        stream.width, stream.height, stream.pix_fmt = 1080, 1296, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        stream.codec_context.thread_count = 2
        for n, small in enumerate(render_session(plan, 180, chunk=120)):
            big = np.repeat(np.repeat(small, 6, 0), 6, 1)  # 216 x 180 -> 1296 x 1080
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(big), format="rgb24")
            frame.pts = n
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def join_copies(src: Path, dst: Path, copies: int) -> None:
    """``copies`` x ``src`` back to back, packets copied (no re-encoding)."""
    import av

    if dst.exists():
        return
    with av.open(str(src)) as probe:
        s = probe.streams.video[0]
        step = int(round(1 / (s.average_rate * s.time_base)))
        span = step * sum(1 for p in probe.demux(s) if p.dts is not None)
    with atomic_path(dst, ".mp4") as tmp, av.open(str(tmp), "w", format="mp4") as out:
        for k in range(copies):
            with av.open(str(src)) as inp:
                ins = inp.streams.video[0]
                if k == 0:
                    outs = out.add_stream_from_template(ins)
                for pkt in inp.demux(ins):
                    if pkt.dts is None:
                        continue
                    pkt.pts += k * span
                    pkt.dts += k * span
                    pkt.stream = outs
                    out.mux(pkt)


def fresh_checkpoint(path: Path, name: str = "manet_r50", **model_kwargs) -> None:
    """A microaction checkpoint of a freshly initialised (seed 0) model: for speed and export
    parity, where training does not matter."""
    import torch

    from microaction.config import Config
    from microaction.engine.checkpoint import save_checkpoint
    from microaction.labels import ACTION_NAMES
    from microaction.models import create_model

    if path.exists():
        return
    torch.manual_seed(0)
    m = create_model(name, **model_kwargs)
    save_checkpoint(path, {"model": name, "model_kwargs": m.model_kwargs,
                           "class_names": list(ACTION_NAMES),
                           "input_spec": m.input_spec.to_dict(), "config": Config().to_dict(),
                           "state_dict": m.state_dict(), "progress": {"epoch": 0},
                           "training_data": {"root": "none (fresh weights)",
                                             "synthetic": False, "train_clips": None}})


def fresh_manet_r50(path: Path) -> None:
    fresh_checkpoint(path, "manet_r50", embed_dim=300)


def run_timeline(ckpt: Path, video: Path, out: Path, stride: float = 1.0) -> dict:
    cmd = [sys.executable, "-m", "microaction", "timeline", str(ckpt), str(video), "--out",
           str(out), "--stride", f"{stride:g}", "-q"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"timeline failed: {proc.stderr.read().decode()[-2000:]}")
    doc = json.loads((out / "timeline.json").read_text())
    return {"wall_seconds": round(wall, 1), "video_seconds": doc["duration"],
            "realtime_factor": round(doc["duration"] / wall, 2),
            "peak_rss_gb": round(usage.ru_maxrss / 2**20, 2), "windows": len(doc["windows"])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/timeline_speed"))
    ap.add_argument("--small", type=Path, default=Path("runs/demo/train/best.pt"))
    ap.add_argument("--skip-30", action="store_true", help="only the 10-minute video")
    ap.add_argument("--r50-10-only", action="store_true",
                    help="run manet_r50 on the 10-minute video only (the 30-minute run takes "
                         "~3x as long; the small model still runs both for the memory check)")
    ap.add_argument("--r50-strides", default="1",
                    help="window strides (s) for manet_r50 on the 10-minute video, e.g. 1,2")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    ten, thirty = args.out / "session_10min.mp4", args.out / "session_30min.mp4"
    t0 = time.perf_counter()
    make_video(ten, 10)
    print(f"10-minute 1080x1296 video: {ten} ({ten.stat().st_size / 2**20:.0f} MB, "
          f"{time.perf_counter() - t0:.0f} s to make)", flush=True)
    if not args.skip_30:
        join_copies(ten, thirty, 3)
    big = args.out / "manet_r50_fresh.pt"
    fresh_manet_r50(big)
    small, small_name = args.small, "manet_r18 48 px (demo)"
    if not small.exists():
        small, small_name = args.out / "manet_r18_fresh.pt", "manet_r18 48 px (fresh)"
        fresh_checkpoint(small, "manet_r18", embed_dim=300, size=48)
    strides = [float(x) for x in args.r50_strides.split(",")]
    results = {}
    for name, ckpt in (("manet_r50 224 px", big), (small_name, small)):
        for label, video in (("10 min", ten), ("30 min", thirty)):
            if label == "30 min" and (args.skip_30 or (args.r50_10_only and ckpt == big)):
                continue
            for stride in (strides if ckpt == big and label == "10 min" else [1.0]):
                r = run_timeline(ckpt, video, args.out / f"{ckpt.stem}_{video.stem}_s{stride:g}",
                                 stride)
                results[f"{name}, {label}, {stride:g}"] = r
                print(f"{name}, {label}, stride {stride:g} s: {r}", flush=True)
    write_json(args.out / "timeline_speed.json", results)
    print("\n| model | video | stride | wall s | real-time factor | peak RSS |")
    print("|---|---|---|---|---|---|")
    for key, r in results.items():
        name, video, stride = key.rsplit(", ", 2)
        print(f"| {name} | {video} | {stride} s | {r['wall_seconds']} | "
              f"{r['realtime_factor']}x | {r['peak_rss_gb']} GB |")


if __name__ == "__main__":
    main()
