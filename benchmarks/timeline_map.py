"""Detection on held-out synthetic interviews: plain sliding-window classification (an MA-52
clip classifier) against detectors that know a 53rd "no action" class, trained on windows of
training sessions. All tsm_r18 with the demo's recipe at 48 px.

    python benchmarks/timeline_map.py [--out runs/timeline_map] [--plain runs/methods/tsm_r18/best.pt]

Steps (each reused when its output exists): synthetic sessions (24 train / 4 val / 8 test, 120 s
each, 57 px); 2 s windows cut from the training sessions (one per instance, one of rest per
instance); two detectors trained on them: "detector (from scratch)", 10 epochs like the plain
classifier, and "detector (fine-tuned)", started from the plain classifier's weights (a fresh
53-class head) and trained ``--finetune-epochs`` (5) at half the learning rate -- what a user
with MA-52 and a few annotated interviews would do; timelines of the val sessions for every model at thresholds 0.01 ... 0.5,
the threshold with the best average mAP on val kept; then the test sessions: mAP at tIoU
0.1 ... 0.9 and average, action- and body-level.
"""

import argparse
import json
import time
from pathlib import Path

import torch

from microaction.cli.demo import demo_config
from microaction.data.annotations import read_ground_truth
from microaction.data.windows import cut_windows
from microaction.engine.distributed import DistInfo
from microaction.engine.runner import fit
from microaction.inference import Predictor
from microaction.io import write_json
from microaction.labels import LabelSpace
from microaction.metrics.detection import Instance, detection_map, to_body_level
from microaction.synth.sessions import generate_sessions
from microaction.timeline import load_window_scores, score_windows, segments, write_timeline

THRESHOLDS = (0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)


def timelines(ckpt: Path, videos: list[Path], out: Path, window: float, stride: float):
    """Window scores per video (cached as window_scores.npz)."""
    predictor = None
    scores = {}
    for v in videos:
        cached = out / v.stem / "window_scores.npz"
        if cached.exists():
            scores[v.stem] = load_window_scores(cached, str(v))
            continue
        predictor = predictor or Predictor.from_checkpoint(ckpt, num_clips=1, test_crops=1)
        sc = score_windows(predictor, v, window, stride, progress=False)
        segs = segments(sc, 0.3, predictor.labels.background)
        write_timeline(out / v.stem, sc, segs, predictor.labels,
                       {"name": predictor.header()["model"], "checkpoint": str(ckpt)})
        scores[v.stem] = sc
    return scores


def train_detector(windows: Path, out: Path, epochs: int, start: Path | None = None,
                   lr: float | None = None) -> None:
    """tsm_r18 with 53 classes on the session windows (skipped when ``out/best.pt`` exists);
    ``start``: a checkpoint whose weights start the trunk (the head is fresh)."""
    if (out / "best.pt").exists():
        return
    cfg = demo_config(windows, "tsm_r18", 48, epochs)
    cfg.data.num_classes = 53
    if start is not None:
        cfg.model.pretrained = str(start)
    if lr is not None:
        cfg.train.lr = lr
    fit(cfg, out, DistInfo(), progress=False, overwrite=True)


def evaluate(scores: dict, gt, threshold: float, background) -> dict:
    a2b = LabelSpace.ma52().action_to_body
    pred = [Instance(vid, s.start, s.end, s.label, s.score) for vid, sc in scores.items()
            for s in segments(sc, threshold, background)]
    action = detection_map(gt, pred)
    body = detection_map(to_body_level(gt, a2b), to_body_level(pred, a2b))
    return {"threshold": threshold, "predictions": len(pred),
            "action": {"map": action["map"], "average": action["average"]},
            "body": {"map": body["map"], "average": body["average"]}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/timeline_map"))
    ap.add_argument("--plain", type=Path, default=Path("runs/methods/tsm_r18/best.pt"),
                    help="an MA-52 clip classifier (benchmarks/methods.py trains tsm_r18)")
    ap.add_argument("--sessions", default="24,4,8", help="train,val,test sessions")
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--finetune-epochs", type=int, default=5)
    ap.add_argument("--window", type=float, default=2.0)
    ap.add_argument("--stride", type=float, default=1.0)
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    t0 = time.perf_counter()
    data = args.out / "sessions"
    n_train, n_val, n_test = (int(v) for v in args.sessions.split(","))
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        if not (data / f"{split}_annotations.csv").exists():
            generate_sessions(data, n, args.duration, 57, seed=1, splits=(split,))
    windows = args.out / "windows"
    if not (windows / "train_list_videos.txt").exists():
        cut_windows(data, windows, args.window, 1.0, splits=("train", "val"))
    detector, tuned = args.out / "detector", args.out / "detector_ft"
    train_detector(windows, detector, args.epochs)
    # half the from-scratch rate: the trunk starts trained
    train_detector(windows, tuned, args.finetune_epochs, start=args.plain, lr=0.00025)
    results = {}
    models = (("plain", args.plain), ("detector", detector / "best.pt"),
              ("detector_ft", tuned / "best.pt"))
    for name, ckpt in models:
        background = LabelSpace.from_names(torch.load(ckpt, weights_only=True)["class_names"]
                                           ).background
        per_split = {}
        for split in ("val", "test"):
            gt = read_ground_truth(data / f"{split}_annotations.csv")
            videos = sorted((data / f"videos_{split}").glob("*.mp4"))
            scores = timelines(ckpt, videos, args.out / f"{name}_{split}", args.window,
                               args.stride)
            per_split[split] = (scores, gt)
        val_scores, val_gt = per_split["val"]
        sweep = {t: evaluate(val_scores, val_gt, t, background) for t in THRESHOLDS}
        best = max(sweep, key=lambda t: sweep[t]["action"]["average"])
        test_scores, test_gt = per_split["test"]
        results[name] = {"checkpoint": str(ckpt), "val_sweep": sweep, "threshold": best,
                         "test": evaluate(test_scores, test_gt, best, background)}
        r = results[name]["test"]
        print(f"{name}: threshold {best} (val), test avg mAP action {100 * r['action']['average']:.2f}"
              f" / body {100 * r['body']['average']:.2f} ({r['predictions']} predictions)",
              flush=True)
    results["wall_seconds"] = round(time.perf_counter() - t0)
    write_json(args.out / "timeline_map.json", results)
    ths = list(results["plain"]["test"]["action"]["map"])
    print("\n| model | level | " + " | ".join(f"{float(t):.1f}" for t in ths) + " | avg |")
    print("|---|---|" + "---|" * (len(ths) + 1))
    for name, _ in models:
        for level in ("action", "body"):
            m = results[name]["test"][level]
            print(f"| {name} | {level} | " + " | ".join(f"{100 * m['map'][t]:.2f}" for t in ths)
                  + f" | **{100 * m['average']:.2f}** |")
    print(json.dumps({k: results[k]["threshold"] for k, _ in models}))


if __name__ == "__main__":
    main()
