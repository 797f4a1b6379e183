"""Long-video verbs: ``synth-sessions``, ``cut-windows``, ``timeline``, ``detect-eval``."""

from __future__ import annotations

import sys
from pathlib import Path

from microaction.cli.common import (add_generator_args, add_quiet, add_verb, positive_int,
                                    setup_torch)


def cmd_synth_sessions(args) -> int:
    from microaction.synth.sessions import generate_sessions

    splits = tuple(s.strip() for s in args.splits.split(",") if s.strip())
    info = generate_sessions(args.out_dir, args.sessions, args.duration, args.size, args.seed,
                             splits, args.overlap, args.workers, progress=not args.quiet)
    counts = ", ".join(f"{k}: {v}" for k, v in info["instances"].items())
    print(f"wrote {args.out_dir}: {args.sessions} sessions x {args.duration:g} s per split "
          f"(instances {counts})")
    return 0


def cmd_cut_windows(args) -> int:
    from microaction.data.windows import cut_windows

    counts = cut_windows(args.root, args.out, args.window, args.background,
                         seed=args.seed, workers=args.workers, progress=not args.quiet)
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v} clips" for k, v in counts.items())
          + " (53 classes: MA-52 + 'no action')")
    return 0


def cmd_timeline(args) -> int:
    from microaction.data.annotations import write_predictions
    from microaction.errors import VideoError
    from microaction.inference import Predictor
    from microaction.metrics.detection import Instance
    from microaction.timeline import score_windows, segments, write_timeline

    setup_torch()
    predictor = Predictor.from_checkpoint(args.checkpoint, num_clips=1, test_crops=1)
    header = predictor.header()
    print(f"{header['model']}, {header['training']}; window {args.window:g} s every "
          f"{args.stride:g} s, threshold {args.threshold:g}")
    model = {"name": header["model"], "checkpoint": str(args.checkpoint),
             "training": header["training"]}
    everything, failed = [], 0
    names = [Path(v).stem for v in args.videos]
    for video, stem in zip(args.videos, names):
        out = args.out / stem if len(args.videos) > 1 or names.count(stem) > 1 else args.out
        try:
            scores = score_windows(predictor, video, args.window, args.stride, args.batch,
                                   progress=not args.quiet)
        except VideoError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        segs = segments(scores, args.threshold, predictor.labels.background)
        write_timeline(out, scores, segs, predictor.labels, model)
        everything += [Instance(stem, s.start, s.end, s.label, s.score) for s in segs]
        print(f"{video}: {scores.duration:.1f} s, {len(scores.starts)} windows, "
              f"{len(segs)} segments -> {out}/timeline.json, detections.csv, timeline.png")
    if len(args.videos) > 1:
        write_predictions(args.out / "detections.csv", everything)
        print(f"all detections: {args.out}/detections.csv")
    return 1 if failed else 0


def cmd_detect_eval(args) -> int:
    import json

    from microaction.data.annotations import read_ground_truth, read_predictions
    from microaction.errors import MicroactionError
    from microaction.labels import LabelSpace
    from microaction.metrics.detection import detection_map, to_body_level

    labels = LabelSpace.ma52()
    gt = read_ground_truth(args.gt, len(labels))
    pred = read_predictions(args.pred, len(labels))
    if not gt:
        raise MicroactionError(f"{args.gt}: the ground truth has no instances")
    action = detection_map(gt, pred)
    body = detection_map(to_body_level(gt, labels.action_to_body),
                         to_body_level(pred, labels.action_to_body))
    if args.json:
        print(json.dumps({"action": action, "body": body}, default=str))
        return 0
    ths = list(action["map"])
    print(f"{'tIoU':<8}" + "".join(f"{t:>7.1f}" for t in ths) + f"{'avg':>8}")
    for name, rep in (("action", action), ("body", body)):
        print(f"{name:<8}" + "".join(f"{100 * rep['map'][t]:>7.2f}" for t in ths)
              + f"{100 * rep['average']:>8.2f}")
    print(f"\nmAP in %, ActivityNet-style interpolated AP averaged over the "
          f"{len(action['classes'])} classes present in {args.gt} "
          f"({action['num_ground_truth']} instances, {action['num_predictions']} predictions)")
    if args.per_class:
        print(f"\n{'class':<34}{'AP@0.5':>8}{'avg AP':>8}")
        for c, aps in action["per_class"].items():
            print(f"{c:>2} {labels.names[c][:31]:<31}{100 * aps[0.5]:>8.2f}"
                  f"{100 * sum(aps.values()) / len(aps):>8.2f}")
    return 0


def register(sub) -> None:
    p = add_verb(sub, "synth-sessions", "synthetic interviews: long videos with timed actions",
                 "microaction synth-sessions data/sessions --sessions 4 --duration 120",
                 cmd_synth_sessions,
                 "One participant per session doing random micro-actions with rest between, a "
                 "share\nof them overlapping on another body part. Writes videos_<split>/ and "
                 "<split>_annotations.csv\n(id,video_id,start_frame,end_frame,class,"
                 "total_frames,fps).")
    p.add_argument("out_dir", type=Path, help="folder to write the sessions into")
    p.add_argument("--sessions", type=positive_int, default=4, help="sessions per split")
    p.add_argument("--duration", type=float, default=120.0, help="seconds per session")
    p.add_argument("--size", type=int, default=57, help="frame width in px (height is 1.2x)")
    p.add_argument("--overlap", type=float, default=0.25,
                   help="probability that an action has a second one overlapping it")
    add_generator_args(p, "train,val,test")

    p = add_verb(sub, "cut-windows", "cut labelled windows (and 'no action' ones) from sessions",
                 "microaction cut-windows data/sessions data/session_windows --window 2",
                 cmd_cut_windows,
                 "The training set of a detector for long videos: one window per annotated "
                 "instance\nand --background windows of rest per instance, as an MA-52-layout "
                 "clip set with 53 classes.")
    p.add_argument("root", type=Path, help="videos_<split>/ and <split>_annotations.csv")
    p.add_argument("out", type=Path, help="clip set to write")
    p.add_argument("--window", type=float, default=2.0, help="window length in seconds")
    p.add_argument("--background", type=float, default=1.0,
                   help="'no action' windows per annotated instance")
    p.add_argument("--seed", type=int, default=0, help="random seed for background windows")
    p.add_argument("--workers", type=int, default=None, help="processes (default: CPU count)")
    add_quiet(p)

    p = add_verb(sub, "timeline", "micro-action timeline of whole videos (sliding windows)",
                 "microaction timeline runs/detector/best.pt interview.mp4 --out runs/tl",
                 cmd_timeline,
                 "Decodes each video once (memory bounded), scores windows at the model's own "
                 "input\nspec and writes timeline.json, detections.csv (video_id,t_start,t_end,"
                 "class,score),\ntimeline.png and window_scores.npz per video. A video that "
                 "fails is reported; the\nothers go on (exit code 1).")
    p.add_argument("checkpoint", type=Path, help="a microaction checkpoint (.pt)")
    p.add_argument("videos", nargs="+", type=Path, help="video files")
    p.add_argument("--out", type=Path, required=True,
                   help="output folder (one subfolder per video when several)")
    p.add_argument("--window", type=float, default=2.0,
                   help="window length in seconds (MA-52 clips are 1.5-2.5 s)")
    p.add_argument("--stride", type=float, default=1.0, help="seconds between window starts")
    p.add_argument("--threshold", type=float, default=0.3,
                   help="class probability that makes a window part of a segment")
    p.add_argument("--batch", type=positive_int, default=None,
                   help="windows per forward pass (default by input size: 8 for a 48 px "
                        "manet_r18, 1 for a 224 px manet_r50; the fastest measured here)")
    add_quiet(p)

    p = add_verb(sub, "detect-eval", "temporal detection mAP of predictions against ground truth",
                 "microaction detect-eval runs/tl/detections.csv --gt data/sessions/"
                 "test_annotations.csv", cmd_detect_eval,
                 "ActivityNet-style interpolated AP per class at tIoU 0.1 ... 0.9, mAP over the "
                 "classes\nin the ground truth, their average; at action and at body-part "
                 "level.")
    p.add_argument("pred", type=Path, help="predictions: video_id,t_start,t_end,class,score")
    p.add_argument("--gt", type=Path, required=True,
                   help="ground truth: id,video_id,start_frame,end_frame,class,total_frames,fps")
    p.add_argument("--json", action="store_true", help="everything as one JSON object")
    p.add_argument("--per-class", action="store_true", help="also AP per class")
