"""``microaction demo`` (part of the CLI layer: it prints progress for the user): the whole
pipeline on a CPU -- synthetic MA-52, a small MANet,
the paper's metrics, confusion matrices and curves, and a prediction on a held-out clip."""

from __future__ import annotations

import json
import time
from pathlib import Path

from microaction.config import Config, DataConfig, ModelConfig, TrainConfig, save_config


# The demo's defaults, chosen by measurement on a 2-core CPU (benchmarks/RESULTS.md): from
# scratch, 48 px learns about as much per epoch as 64 px at ~70 % of the cost. 10 epochs: the
# temporal models learn the motion-only classes in epochs 7-10 (at 8 epochs they had not yet).
DEMO = {"clips_per_class": 16, "epochs": 10, "model": "manet_r18", "size": 48,
        "participants": 8, "distractors": 0.25, "synth_frames": 32}


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
        model=ModelConfig(name=model, frames=8, size=size, dropout=0.2, pretrained=None,
                          embed_weight=5.0),
        data=DataConfig(root=str(root), num_workers=2, train_crop="center", cache=True),
        train=TrainConfig(epochs=epochs, batch_size=8, optimizer="adamw", lr=0.0005,
                          weight_decay=0.01, param_groups="plain", lr_schedule="cosine",
                          warmup_epochs=0.5, clip_grad=20.0, val_every=2, log_every=10,
                          amp="off", channels_last=False))


def run_demo(out: str | Path, clips_per_class: int = DEMO["clips_per_class"],
             epochs: int = DEMO["epochs"], model: str = DEMO["model"], size: int = DEMO["size"],
             quiet: bool = False, synth_size: int | None = None,
             synth_frames: int = DEMO["synth_frames"], participants: int = DEMO["participants"],
             distractors: float = DEMO["distractors"]) -> int:
    from microaction.data.listfile import parse_list_file
    from microaction.data.synthetic import generate_dataset
    from microaction.engine.distributed import DistInfo
    from microaction.engine.runner import fit
    from microaction.inference import Predictor
    from microaction.labels import ACTION_NAMES
    from microaction.metrics import format_table

    out = Path(out)
    t0 = time.perf_counter()
    data = out / "data"
    print(f"[1/4] synthetic MA-52: 52 classes x {clips_per_class} train clips, "
          f"{participants} participants -> {data}")
    synth_size = synth_size or synth_size_for(size)
    generate_dataset(data, clips_per_class=clips_per_class, size=synth_size, frames=synth_frames,
                     seed=0, participants=participants, distractors=distractors,
                     progress=not quiet)
    t_data = time.perf_counter() - t0
    cfg = demo_config(data, model, size, epochs)
    save_config(cfg, out / "demo_config.yaml")
    print(f"[2/4] training {model} ({size} px, 8 segments) for {epochs} epochs on CPU")
    report = fit(cfg, out / "train", DistInfo(), progress=not quiet)
    t_train = time.perf_counter() - t0 - t_data
    print("[3/4] best validation, the paper's metrics:")
    print(format_table(report))
    from microaction.plots import confusion_matrix_png
    from microaction.labels import BODY_NAMES

    confusion_matrix_png(report["action_confusion"],
                         [f"{i} {n}" for i, n in enumerate(ACTION_NAMES)],
                         out / "confusion_action.png", "action confusion (val)")
    confusion_matrix_png(report["body_confusion"], list(BODY_NAMES), out / "confusion_body.png",
                         "body confusion (val)")
    truth = parse_list_file(data / "test_list_videos_labeled.txt")[0]
    clip = data / "videos_test" / truth.path
    print(f"[4/4] predicting held-out {clip.name} (true: {truth.label} "
          f"{ACTION_NAMES[truth.label]})")
    pred = Predictor.from_checkpoint(out / "train" / "best.pt").predict(clip, topk=5)
    for t in pred["top"]:
        print(f"  {100 * t['prob']:5.1f}%  {t['action_id']:>2} {t['action']}  [{t['body']}]")
    total = time.perf_counter() - t0
    summary = {"wall_seconds": round(total, 1), "data_seconds": round(t_data, 1),
               "train_seconds": round(t_train, 1), "model": model, "size": size,
               "epochs": epochs, "clips_per_class": clips_per_class,
               "metrics": {k: report[k] for k in ("action_top1", "action_top5", "body_top1",
                                                  "action_f1_macro", "action_f1_micro",
                                                  "body_f1_macro", "body_f1_micro", "f1_mean")},
               "prediction": pred, "true_label": truth.label}
    (out / "demo_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"done in {total / 60:.1f} min: {out}/ (confusion_*.png, train/curves.png, "
          f"train/best.pt, demo_summary.json)")
    return 0
