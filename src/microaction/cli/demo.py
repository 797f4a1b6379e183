"""``microaction demo``: the whole pipeline on a CPU -- synthetic MA-52, a small MANet trained
from scratch, the paper's metrics, confusion matrices and curves, and a prediction on a held-out
clip. Part of the CLI layer: it prints progress for the user."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from microaction.cli.common import add_quiet, add_verb, positive_int, setup_torch
from microaction.config import Config, DataConfig, ModelConfig, TrainConfig, save_config

# The demo's defaults, chosen by measurement on a 2-core CPU (benchmarks/RESULTS.md): from
# scratch, 48 px learns about as much per epoch as 64 px at ~70 % of the cost. 10 epochs: the
# temporal models learn the motion-only classes in epochs 7-10 (at 8 epochs they had not yet).
DEMO = {"clips_per_class": 16, "epochs": 10, "model": "manet_r18", "size": 48,
        "participants": 8, "distractors": 0.25, "synth_length": 32}


def synth_size_for(size: int) -> int:
    """Synthetic frame width just above the model's resize (no rendered pixels wasted)."""
    from microaction.spec import short_side_for

    return short_side_for(size) + 2


def demo_config(root: Path, model: str, size: int, epochs: int) -> Config:
    """From scratch on CPU (measured, benchmarks/RESULTS.md): AdamW with warm-up and a cosine
    decay learns in a few epochs where the fine-tuning recipe (SGD, lr 0.00125) does not move a
    random network; the centre crop keeps every body part in view; the joint-embedding weight is
    5 instead of the recipe's 50, which held a random network at chance for ~6 of 10 epochs.
    Batch 8 at lr 5e-4 rather than 16 at 1e-3: twice the steps in the same time, and the
    temporal models learn the motion-only classes within the 10 epochs (at batch 16 they did
    not; benchmarks/temporal_vs_tsn.py). The frames are decoded once and kept in RAM (the set
    is small), and channels_last is off: at 48-64 px it was 5-7 % slower on this CPU."""
    return Config(
        model=ModelConfig(name=model, clip_len=8, size=size, dropout=0.2, pretrained=None,
                          embed_weight=5.0),
        data=DataConfig(root=str(root), num_workers=2, train_crop="center", cache=True),
        train=TrainConfig(epochs=epochs, batch_size=8, optimizer="adamw", lr=0.0005,
                          weight_decay=0.01, param_groups="plain", lr_schedule="cosine",
                          warmup_epochs=0.5, clip_grad=20.0, val_every=2, log_every=10,
                          amp="off", channels_last=False))


def run_demo(out: str | Path, clips_per_class: int = DEMO["clips_per_class"],
             epochs: int = DEMO["epochs"], model: str = DEMO["model"], size: int = DEMO["size"],
             quiet: bool = False, synth_size: int | None = None,
             synth_length: int = DEMO["synth_length"], participants: int = DEMO["participants"],
             distractors: float = DEMO["distractors"]) -> int:
    """Writes ``OUT/data`` (reused when its settings match), ``OUT/train`` (replaced on each
    run), the confusion matrices and ``demo_summary.json``."""
    from microaction.data.listfile import parse_list_file
    from microaction.engine.distributed import DistInfo
    from microaction.engine.runner import fit
    from microaction.inference import Predictor
    from microaction.io import write_json
    from microaction.labels import LabelSpace
    from microaction.metrics import format_table
    from microaction.plots import confusion_matrix_png
    from microaction.synth.clips import generate_dataset

    out = Path(out)
    t0 = time.perf_counter()
    data = out / "data"
    print(f"[1/4] synthetic MA-52: 52 classes x {clips_per_class} train clips, "
          f"{participants} participants -> {data}")
    generate_dataset(data, clips_per_class=clips_per_class, size=synth_size or synth_size_for(size),
                     length=synth_length, seed=0, participants=participants,
                     distractors=distractors, progress=not quiet)
    t_data = time.perf_counter() - t0
    cfg = demo_config(data, model, size, epochs)
    save_config(cfg, out / "demo_config.yaml")
    print(f"[2/4] training {model} ({size} px, 8 segments) for {epochs} epochs on CPU "
          f"(validation every {cfg.train.val_every} epochs)")
    logging.getLogger("microaction").setLevel(logging.INFO)
    report = fit(cfg, out / "train", DistInfo(), progress=not quiet, overwrite=True)
    t_train = time.perf_counter() - t0 - t_data
    print(f"[3/4] best validation (epoch {report['epoch']} of {epochs}), the paper's metrics:")
    print(format_table(report))
    labels = LabelSpace.ma52()
    confusion_matrix_png(report["action_confusion"], labels.labelled(),
                         out / "confusion_action.png", "action confusion (val)")
    confusion_matrix_png(report["body_confusion"], list(labels.body_names),
                         out / "confusion_body.png", "body confusion (val)")
    truth = parse_list_file(data / "test_list_videos_labeled.txt")[0]
    clip = data / "videos_test" / truth.path
    print(f"[4/4] predicting held-out {clip.name} (true: {truth.label} "
          f"{labels.names[truth.label]})")
    pred = Predictor.from_checkpoint(out / "train" / "best.pt").predict(clip, topk=5)
    for t in pred["top"]:
        print(f"  {100 * t['prob']:5.1f}%  {t['action_id']:>2} {t['action']}  [{t['body']}]")
    total = time.perf_counter() - t0
    summary = {"wall_seconds": round(total, 1), "data_seconds": round(t_data, 1),
               "train_seconds": round(t_train, 1), "model": model, "size": size,
               "epochs": epochs, "best_epoch": report["epoch"], "clips_per_class": clips_per_class,
               "metrics": {k: report[k] for k in ("action_top1", "action_top5", "body_top1",
                                                  "action_f1_macro", "action_f1_micro",
                                                  "body_f1_macro", "body_f1_micro", "f1_mean")},
               "prediction": pred, "true_label": truth.label}
    write_json(out / "demo_summary.json", summary)
    print(f"done in {total / 60:.1f} min: {out}/ (confusion_*.png, train/curves.png, "
          f"train/best.pt, demo_summary.json)")
    return 0


def cmd_demo(args) -> int:
    setup_torch()
    return run_demo(args.out, clips_per_class=args.clips_per_class, epochs=args.epochs,
                    model=args.model, size=args.size, quiet=args.quiet)


def register(sub) -> None:
    p = add_verb(sub, "demo", "synthetic data -> train a small MANet -> metrics -> predict",
                 "microaction demo --out runs/demo", cmd_demo,
                 "About 8 minutes on 2 CPU cores with the defaults. OUT/data is reused when its "
                 "settings\nmatch (a folder made with other settings is refused); OUT/train is "
                 "replaced.")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder")
    p.add_argument("--clips-per-class", type=positive_int, default=DEMO["clips_per_class"],
                   help="train clips per class (val and test get half each)")
    p.add_argument("--epochs", type=positive_int, default=DEMO["epochs"], help="training epochs")
    p.add_argument("--model", default=DEMO["model"], help="registered model name")
    p.add_argument("--size", type=positive_int, default=DEMO["size"], help="model input side (px)")
    add_quiet(p)
