"""Engine verbs: ``train`` and ``test`` (both work under torchrun)."""

from __future__ import annotations

import logging
from pathlib import Path

from microaction.cli.common import add_quiet, add_verb, setup_torch, views
from microaction.errors import MicroactionError


def _add_config_args(p) -> None:
    p.add_argument("config", type=Path, help="experiment YAML (e.g. configs/ma52/manet_r50.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value (repeatable)")
    p.add_argument("--device", choices=["cpu", "cuda"], default=None,
                   help="default: cuda when available")
    add_quiet(p)


def cmd_train(args) -> int:
    from microaction.config import load_config
    from microaction.engine.distributed import cleanup_distributed, setup_distributed
    from microaction.engine.runner import fit
    from microaction.metrics import format_table

    setup_torch()
    cfg = load_config(args.config, args.set)
    work_dir = args.work_dir or Path("work_dirs") / Path(args.config).stem
    info = setup_distributed(args.device)
    if info.is_main:
        logging.getLogger("microaction").setLevel(logging.INFO)
    try:
        report = fit(cfg, work_dir, info, resume=args.resume, progress=not args.quiet,
                     overwrite=args.overwrite)
    finally:
        cleanup_distributed()
    if info.is_main:
        if report:
            print(f"best validation ({cfg.train.best_metric}, epoch {report.get('epoch')}) "
                  f"in {work_dir}/best.pt:")
            print(format_table(report))
        print(f"checkpoints, log.jsonl, curves.png, tensorboard/ in {work_dir}")
    return 0


def cmd_test(args) -> int:
    import numpy as np

    from microaction.config import load_config
    from microaction.engine.distributed import cleanup_distributed, setup_distributed
    from microaction.inference import score_split
    from microaction.io import write_json
    from microaction.metrics import format_table, ma52_report
    from microaction.plots import confusion_matrix_png
    from microaction.scores import write_scores

    setup_torch()
    cfg = load_config(args.config, args.set)
    info = setup_distributed(args.device)
    try:
        scores, vids, labels, labelled, list_path, space = score_split(
            cfg, args.checkpoint, args.split, args.list, args.views, info, not args.quiet,
            args.videos, args.force)
    finally:
        cleanup_distributed()
    if not info.is_main:
        return 0
    bad = np.isnan(scores).any(1)
    if bad.any():
        raise MicroactionError(f"{int(bad.sum())} video(s) of {list_path} could not be read "
                               f"(see the warnings); no scores written")
    write_scores(args.out, scores, vids)
    print(f"wrote {args.out}/scores.npy and scores.csv ({len(vids)} videos)")
    if not labelled:
        print(f"no metrics: {list_path} carries placeholder labels (the official test list has "
              f"0 for every video). Submit the scores (microaction submit), or score a list "
              f"with real labels (--list).")
        return 0
    rep = ma52_report(scores, labels, space.action_to_body)
    write_json(Path(args.out) / "report.json", rep)
    confusion_matrix_png(rep["action_confusion"], space.labelled(),
                         Path(args.out) / "confusion_action.png", "action confusion")
    if space.body_names:
        confusion_matrix_png(rep["body_confusion"], list(space.body_names),
                             Path(args.out) / "confusion_body.png", "body confusion")
    print(format_table(rep))
    return 0


def register(sub) -> None:
    p = add_verb(sub, "train", "train a model from a YAML config (torchrun for several GPUs)",
                 "microaction train configs/synthetic/manet_r18.yaml --set data.root=runs/demo/data",
                 cmd_train,
                 "Writes last.pt, best.pt, log.jsonl, tensorboard/, curves.png and config.yaml "
                 "into\nthe work dir. A work dir holding another run is refused (--resume, "
                 "--overwrite).")
    _add_config_args(p)
    p.add_argument("--work-dir", type=Path, default=None,
                   help="output folder (default: work_dirs/<config name>)")
    p.add_argument("--resume", action="store_true", help="continue from WORK_DIR/last.pt")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the outputs of a previous run in WORK_DIR")

    p = add_verb(sub, "test", "score a split or list with a checkpoint; metrics when labelled",
                 "microaction test configs/ma52/manet_r50.yaml --checkpoint best.pt --split val "
                 "--out runs/val", cmd_test,
                 "Writes scores.npy and scores.csv (one softmax row per list line, in list "
                 "order);\nwith real labels also report.json, confusion_*.png and the printed "
                 "metrics.\nThe test split's official list has placeholder labels: no metrics "
                 "for it.")
    _add_config_args(p)
    p.add_argument("--checkpoint", type=Path, required=True, help="checkpoint to evaluate")
    p.add_argument("--split", choices=["train", "val", "test"], default="val",
                   help="split of the config's data.root")
    p.add_argument("--list", default=None,
                   help="score this list file instead (its videos: --videos, or videos_<split>/ "
                        "next to a <split>_list_videos*.txt, or the list's own folder)")
    p.add_argument("--videos", default=None, help="folder holding the listed videos")
    p.add_argument("--views", type=views, default=None, metavar="CLIPSxCROPS",
                   help="test views, e.g. 1x1 or 2x3 (default: the config's data.test_clips x "
                        "data.test_crops)")
    p.add_argument("--force", action="store_true",
                   help="use test views that do not fit how the model was trained")
    p.add_argument("--out", type=Path, required=True, help="folder for scores and report")
