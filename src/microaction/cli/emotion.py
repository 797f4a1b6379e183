"""Emotion verbs: ``synth-emotions``, ``emotion fit``, ``emotion predict``."""

from __future__ import annotations

from pathlib import Path

from microaction.cli.common import (add_generator_args, add_quiet, add_verb, positive_int,
                                    setup_torch)


def cmd_synth_emotions(args) -> int:
    from microaction.synth.emotion import generate_emotional_sessions

    splits = tuple(s.strip() for s in args.splits.split(",") if s.strip())
    generate_emotional_sessions(args.out_dir, args.per_emotion, args.duration, args.size,
                                args.seed, splits, args.action_strength, args.face_strength,
                                args.workers, progress=not args.quiet)
    print(f"wrote {args.out_dir}: {args.per_emotion} sessions per emotion and split "
          f"({', '.join(splits)}), <split>_labels.csv (video,emotion)")
    return 0


def _extractor(checkpoint, cache, args):
    from microaction.emotion import Extractor

    return Extractor(str(checkpoint), Path(cache), args.threshold, args.window, args.stride,
                     progress=not args.quiet)


def cmd_emotion_fit(args) -> int:
    from microaction.emotion import feature_matrix, fit_model, read_labels
    from microaction.progress import progress_bar

    setup_torch()
    rows = read_labels(args.labels)
    cache = args.cache or args.out.with_name(args.out.name + ".features")
    extract = _extractor(args.checkpoint, cache, args)
    items = []
    with progress_bar(total=len(rows), desc="features", unit="video",
                      enabled=not args.quiet) as bar:
        for video, _ in rows:
            items.append(extract(video))
            bar.update()
    x, names = feature_matrix(items, args.features)
    model, report = fit_model(x, [e for _, e in rows], names, args.folds, seed=args.seed,
                              where=str(args.labels))
    model.meta.update(checkpoint=str(Path(args.checkpoint).resolve()), features=args.features,
                      threshold=args.threshold, window=args.window, stride=args.stride,
                      labels=str(args.labels))
    model.save(args.out)
    print(f"{len(rows)} videos, {len(model.classes)} emotions ({', '.join(model.classes)}), "
          f"{args.features} features ({x.shape[1]})")
    print(f"{args.folds}-fold cross-validation: accuracy {100 * report['accuracy']:.1f} "
          f"+- {100 * report['accuracy_sd']:.1f} %, macro-F1 {100 * report['f1_macro']:.1f} "
          f"+- {100 * report['f1_macro_sd']:.1f} %")
    print(f"wrote {args.out} (features cached in {cache})")
    return 0


def cmd_emotion_predict(args) -> int:
    import json
    import sys

    import numpy as np

    from microaction.emotion import EmotionModel, feature_matrix
    from microaction.errors import VideoError

    setup_torch()
    model = EmotionModel.load(args.model)
    meta = model.meta
    args.threshold, args.window, args.stride = meta["threshold"], meta["window"], meta["stride"]
    ckpt = args.checkpoint or meta["checkpoint"]
    extract = _extractor(ckpt, args.cache or Path(str(args.model) + ".features"), args)
    results, failed = [], 0
    for video in args.videos:
        try:
            item = extract(Path(video))
        except VideoError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr)
            continue
        x, _ = feature_matrix([item], meta["features"])
        p = model.probabilities(x)[0]
        best = int(np.argmax(p))
        results.append({"video": str(video), "emotion": model.classes[best],
                        "probabilities": dict(zip(model.classes, map(float, p))),
                        "evidence": [{"feature": n, "push": c, "value": None if v != v else v}
                                     for n, c, v in model.evidence(x[0], best, args.top)]})
    if args.json:
        print(json.dumps(results, indent=1))
        return 1 if failed else 0
    for r in results:
        probs = ", ".join(f"{e} {100 * q:.0f} %" for e, q in
                          sorted(r["probabilities"].items(), key=lambda kv: -kv[1]))
        print(f"{r['video']}: {r['emotion']} ({probs})")
        for ev in r["evidence"]:
            way = "toward" if ev["push"] > 0 else "away from"
            value = "" if ev["value"] is None else f" = {ev['value']:.3g}"
            print(f"  {ev['push']:+.2f} {way} {r['emotion']}: {ev['feature']}{value}")
    return 1 if failed else 0


def register(sub) -> None:
    p = add_verb(sub, "synth-emotions", "synthetic interviews that carry an emotion label",
                 "microaction synth-emotions data/emotions --per-emotion 8 --duration 60",
                 cmd_synth_emotions,
                 "Sessions whose emotion (neutral, happy, sad, anxious) changes the micro-action "
                 "rates and\na weak, noisy facial cue. The link exists because the generator "
                 "puts it there.")
    p.add_argument("out_dir", type=Path, help="folder to write into")
    p.add_argument("--per-emotion", type=positive_int, default=8,
                   help="sessions per emotion and split")
    p.add_argument("--duration", type=float, default=60.0, help="seconds per session")
    p.add_argument("--size", type=int, default=96, help="frame width in px")
    p.add_argument("--action-strength", type=float, default=1.0,
                   help="how much emotion changes the action rates (0: not at all)")
    p.add_argument("--face-strength", type=float, default=1.0,
                   help="how strong the facial cue is (0: none)")
    add_generator_args(p, "train,test")

    p = add_verb(sub, "emotion", "emotion recognition from micro-action cues (fit, predict)",
                 "microaction emotion fit labels.csv --checkpoint best.pt --out emotion.json",
                 None)
    verbs = p.add_subparsers(dest="emotion_command", required=True, metavar="fit|predict",
                             help="fit a classifier, or predict with one")
    f = add_verb(verbs, "fit", "fit an emotion classifier on labelled videos",
                 "microaction emotion fit data/emotions/train_labels.csv --checkpoint "
                 "runs/demo/train/best.pt --out emotion.json", cmd_emotion_fit,
                 "LABELS.csv: video,emotion per row (paths relative to the file). Features per "
                 "video:\nthe micro-action timeline (rates, time shares, mean probabilities per "
                 "class and body\npart) and/or face-region appearance; logistic regression with "
                 "cross-validation.")
    f.add_argument("labels", type=Path, help="CSV with video,emotion")
    f.add_argument("--checkpoint", type=Path, required=True, help="micro-action checkpoint")
    f.add_argument("--out", type=Path, required=True, help="model file to write (.json)")
    f.add_argument("--features", choices=["actions", "appearance", "both"], default="both",
                   help="which features to use")
    f.add_argument("--folds", type=positive_int, default=5, help="cross-validation folds")
    f.add_argument("--cache", type=Path, default=None,
                   help="feature cache folder (default: OUT.features next to the model)")
    f.add_argument("--threshold", type=float, default=0.3, help="timeline segment threshold")
    f.add_argument("--window", type=float, default=2.0, help="timeline window in seconds")
    f.add_argument("--stride", type=float, default=1.0, help="timeline stride in seconds")
    f.add_argument("--seed", type=int, default=0, help="cross-validation shuffling seed")
    add_quiet(f)
    q = add_verb(verbs, "predict", "the emotion of videos, with the cues behind it",
                 "microaction emotion predict emotion.json interview.mp4", cmd_emotion_predict)
    q.add_argument("model", type=Path, help="a model written by `emotion fit`")
    q.add_argument("videos", nargs="+", type=Path, help="video files")
    q.add_argument("--checkpoint", type=Path, default=None,
                   help="micro-action checkpoint (default: the one the model was fitted with)")
    q.add_argument("--cache", type=Path, default=None, help="feature cache folder")
    q.add_argument("--top", type=positive_int, default=5, help="cues shown per video")
    q.add_argument("--json", action="store_true", help="results as JSON")
    add_quiet(q)
