"""``microaction demo`` (part of the CLI layer: it prints progress for the user): the whole
pipeline on a CPU -- synthetic MA-52, a small MANet,
the paper's metrics, confusion matrices and curves, and a prediction on a held-out clip."""

from __future__ import annotations

import json
import time
from pathlib import Path

from microaction.config import Config, DataConfig, ModelConfig, TrainConfig, save_config


def demo_config(root: Path, model: str, size: int, epochs: int) -> Config:
    # From scratch on CPU: a higher learning rate than the ImageNet fine-tuning recipe, a short
    # warm-up, and one decay step near the end.
    return Config(
        model=ModelConfig(name=model, frames=8, size=size, dropout=0.5, pretrained=None),
        data=DataConfig(root=str(root), num_workers=2),
        train=TrainConfig(epochs=epochs, batch_size=8, lr=0.02, warmup_epochs=1.0,
                          lr_steps=[max(1, epochs - 1)], clip_grad=20.0, val_every=1,
                          log_every=10, amp="off"))


def run_demo(out: str | Path, clips_per_class: int = 12, epochs: int = 6,
             model: str = "manet_r18", size: int = 96, quiet: bool = False,
             synth_size: int = 112, synth_frames: int = 32) -> int:
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
    print(f"[1/4] synthetic MA-52: 52 classes x {clips_per_class} train clips -> {data}")
    generate_dataset(data, clips_per_class=clips_per_class, size=synth_size, frames=synth_frames,
                     seed=0, progress=not quiet)
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
