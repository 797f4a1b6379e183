"""Emotion recognition ablation on synthetic interviews: appearance only vs micro-actions only vs
both, and how the micro-action branch degrades with a weaker micro-action model.

    python benchmarks/emotion_ablation.py [--out runs/emotion] [--demo runs/demo/train/best.pt]
        [--detector runs/timeline_map/detector/best.pt]

Data: ``microaction synth-emotions`` -- 4 emotions x 12 train / 6 test sessions of 60 s at 96 px
(action and face strength 1). Micro-action sources: the demo's clip classifier (weak on long
video: it has no "no action"), the session detector of ``benchmarks/timeline_map.py`` (trained
on windows with a "no action" class), and the ground-truth micro-actions (the upper bound of a
perfect micro-action model). Classifier: standardised logistic regression (C 0.5); 5-fold
cross-validation on the training sessions gives the spread; the held-out test sessions give the
headline. Remember: on synthetic data the link between emotion and cues exists because the
generator puts it there.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from microaction.data.annotations import ground_truth_videos, read_ground_truth
from microaction.emotion import Extractor, fit_model, ground_truth_features, read_labels
from microaction.io import write_json
from microaction.labels import LabelSpace
from microaction.synth.emotion import generate_emotional_sessions


def evaluate(xtr, ytr, xte, yte, names):
    from sklearn.metrics import accuracy_score, f1_score

    model, cv = fit_model(xtr, ytr, names, folds=5)
    pred = [model.classes[i] for i in model.probabilities(xte).argmax(1)]
    return {"cv_accuracy": cv["accuracy"], "cv_accuracy_sd": cv["accuracy_sd"],
            "cv_f1_macro": cv["f1_macro"], "cv_f1_macro_sd": cv["f1_macro_sd"],
            "test_accuracy": float(accuracy_score(yte, pred)),
            "test_f1_macro": float(f1_score(yte, pred, average="macro"))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/emotion"))
    ap.add_argument("--demo", type=Path, default=Path("runs/demo/train/best.pt"))
    ap.add_argument("--detector", type=Path, default=Path("runs/timeline_map/detector/best.pt"))
    ap.add_argument("--per-emotion", default="12,6", help="train,test sessions per emotion")
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    t0 = time.perf_counter()
    data = args.out / "sessions"
    n_train, n_test = (int(v) for v in args.per_emotion.split(","))
    for split, n in (("train", n_train), ("test", n_test)):
        if not (data / f"{split}_labels.csv").exists():
            generate_emotional_sessions(data, n, 60.0, 96, seed=4, splits=(split,))
    rows = {s: read_labels(data / f"{s}_labels.csv") for s in ("train", "test")}
    y = {s: [e for _, e in r] for s, r in rows.items()}
    labels = LabelSpace.ma52()
    sources = {}
    for name, ckpt in (("demo classifier", args.demo), ("session detector", args.detector)):
        if not ckpt.exists():
            print(f"skipping {name}: {ckpt} not found")
            continue
        ex = Extractor(str(ckpt), args.out / "features", progress=False)
        sources[name] = {s: [ex(v) for v, _ in r] for s, r in rows.items()}
    feats = {}
    for name, items in sources.items():
        feats[name] = {s: (np.stack([i["actions"] for i in it]), np.stack([i["appearance"]
                                                                           for i in it]))
                       for s, it in items.items()}
    gt = {}
    for s, r in rows.items():
        inst = read_ground_truth(data / f"{s}_annotations.csv")
        meta = ground_truth_videos(data / f"{s}_annotations.csv")
        gt[s] = np.stack([ground_truth_features([i for i in inst if i.video == v.stem],
                                                meta[v.stem][0] / meta[v.stem][1], labels)
                          for v, _ in r])
    appearance = next(iter(feats.values())) if feats else None
    results = {}
    if appearance:
        results["appearance only"] = evaluate(appearance["train"][1], y["train"],
                                              appearance["test"][1], y["test"], [])
    for name, f in feats.items():
        results[f"micro-actions only ({name})"] = evaluate(f["train"][0], y["train"],
                                                           f["test"][0], y["test"], [])
        results[f"both ({name})"] = evaluate(np.hstack(f["train"]), y["train"],
                                             np.hstack(f["test"]), y["test"], [])
    results["micro-actions only (ground truth)"] = evaluate(gt["train"], y["train"], gt["test"],
                                                            y["test"], [])
    if appearance:
        results["both (ground truth)"] = evaluate(
            np.hstack([gt["train"], appearance["train"][1]]), y["train"],
            np.hstack([gt["test"], appearance["test"][1]]), y["test"], [])
    results["wall_seconds"] = round(time.perf_counter() - t0)
    write_json(args.out / "emotion_ablation.json", results)
    print("| features | test accuracy | test macro-F1 | 5-fold CV accuracy (train) | "
          "5-fold CV macro-F1 (train) |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        if name == "wall_seconds":
            continue
        print(f"| {name} | {100 * r['test_accuracy']:.1f} | {100 * r['test_f1_macro']:.1f} | "
              f"{100 * r['cv_accuracy']:.1f} ± {100 * r['cv_accuracy_sd']:.1f} | "
              f"{100 * r['cv_f1_macro']:.1f} ± {100 * r['cv_f1_macro_sd']:.1f} |")
    print(f"\nchance: 25.0 %; {len(y['train'])} train / {len(y['test'])} test sessions; "
          f"wall time {results['wall_seconds'] / 60:.0f} min")


if __name__ == "__main__":
    main()
