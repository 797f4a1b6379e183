"""The ``microaction`` command: each subcommand is a short function composing library pieces."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from microaction.errors import MicroactionError

log = logging.getLogger("microaction")


def _csv_ints(text: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


# ----------------------------------------------------------------------------- data commands


def cmd_synth(args) -> int:
    from microaction.data.synthetic import generate_dataset

    splits = tuple(s.strip() for s in args.splits.split(",") if s.strip())
    try:
        info = generate_dataset(args.out_dir, args.clips_per_class, args.distribution, args.size,
                                args.frames, args.seed, splits, args.participants,
                                args.distractors, args.workers, progress=not args.quiet)
    except ValueError as exc:
        raise MicroactionError(str(exc)) from None
    clips = ", ".join(f"{k}: {v}" for k, v in info["clips"].items())
    print(f"wrote {args.out_dir} ({clips} clips, {info['size']} px, {info['frames']} frames)")
    return 0


def cmd_check(args) -> int:
    from microaction.data.check import check_dataset

    report = check_dataset(args.data_root, decode=not args.no_decode, workers=args.workers,
                           progress=not args.quiet)
    if report.splits:
        print(report.table())
    if report.problems:
        print(f"\n{len(report.problems)} problem(s):")
        for p in report.problems:
            print(f"  {p}")
        return 1
    print(f"\nOK: {report.clips} clips in {', '.join(report.splits)}")
    return 0


def cmd_prepare(args) -> int:
    from microaction.data.prepare import prepare_dataset

    report = prepare_dataset(args.src, args.dst, args.short_side, args.crf, args.workers,
                             progress=not args.quiet)
    print(f"prepared {args.dst}: {report.written} written, {report.skipped} already done, "
          f"{len(report.failed)} failed")
    for err in report.failed:
        print(f"  failed: {err}")
    return 1 if report.failed else 0


def cmd_contact_sheet(args) -> int:
    import numpy as np

    from microaction.data.listfile import parse_list_file, split_files
    from microaction.data.sampling import segment_indices
    from microaction.data.video import read_video
    from microaction.labels import ACTION_NAMES
    from microaction.plots import contact_sheet

    list_file, video_dir = split_files(args.data_root, args.split)
    entries = parse_list_file(list_file)
    clips = []
    for c in args.classes:
        match = [e for e in entries if e.label == c]
        if not match:
            raise MicroactionError(f"{list_file}: no clip of class {c}")
        clip = read_video(video_dir / match[0].path,
                          lambda n: segment_indices(n, args.frames, train=False)[0])
        clips.append((f"{c} {ACTION_NAMES[c]}  ({match[0].path})", clip.frames))
    contact_sheet(clips, args.out)
    print(f"wrote {args.out}")
    return 0


# ----------------------------------------------------------------------------- model commands


def cmd_models(args) -> int:
    from microaction.models import create_model, list_models
    from microaction.models.profile import count_parameters, flops_per_clip

    names = list_models()
    head = f"{'model':<12} {'input':<22} {'params':>12}" + (f" {'GFLOPs/clip':>12}" if args.flops
                                                            else "")
    print(head)
    print("-" * len(head))
    for name in names:
        model = create_model(name)
        spec = model.input_spec
        line = f"{name:<12} {f'{spec.sampling} {spec.frames}x{spec.size}px':<22} " \
               f"{count_parameters(model):>12,}"
        if args.flops:
            line += f" {flops_per_clip(model) / 1e9:>12.1f}"
        print(line, flush=True)
    if args.flops:
        print("\nFLOPs counted by torch.utils.flop_counter for one clip at the model's input "
              "size (1 multiply-add = 2 FLOPs).")
    return 0


def cmd_embed_labels(args) -> int:
    import numpy as np

    from microaction.label_embeddings import embed_names
    from microaction.labels import read_label_names

    names = read_label_names(args.label_names)
    table = embed_names(names, args.model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.part.npy")
    np.save(tmp, table)
    tmp.replace(args.out)
    print(f"wrote {args.out}: {table.shape[0]} classes x {table.shape[1]} dims")
    return 0


# ----------------------------------------------------------------------------- engine commands


def _views(text: str) -> tuple[int, int]:
    try:
        clips, crops = (int(t) for t in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected CLIPSxCROPS like 1x1 or 2x3, got {text!r}")
    if clips < 1 or crops not in (1, 3):
        raise argparse.ArgumentTypeError(f"clips must be >= 1 and crops 1 or 3, got {text!r}")
    return clips, crops


def _setup_torch():
    import torch

    torch.set_flush_denormal(True)  # denormals make CPU backward passes 100x slower


def cmd_train(args) -> int:
    from microaction.config import load_config
    from microaction.engine.distributed import cleanup_distributed, setup_distributed
    from microaction.engine.runner import fit
    from microaction.metrics import format_table

    _setup_torch()
    cfg = load_config(args.config, args.set)
    work_dir = args.work_dir or Path("work_dirs") / Path(args.config).stem
    info = setup_distributed(args.device)
    if info.is_main:
        logging.getLogger("microaction").setLevel(logging.INFO)
    try:
        report = fit(cfg, work_dir, info, resume=args.resume, progress=not args.quiet)
    finally:
        cleanup_distributed()
    if info.is_main:
        if report:
            print(f"best validation ({cfg.train.best_metric}) in {work_dir}/best.pt:")
            print(format_table(report))
        print(f"checkpoints, log.jsonl, curves.png, tensorboard/ in {work_dir}")
    return 0


def cmd_test(args) -> int:
    from microaction.config import load_config
    from microaction.engine.distributed import cleanup_distributed, setup_distributed
    from microaction.engine.runner import action_to_body
    from microaction.inference import score_split, write_report
    from microaction.metrics import format_table, ma52_report
    from microaction.plots import confusion_matrix_png
    from microaction.scores import write_scores
    from microaction.labels import BODY_NAMES

    _setup_torch()
    cfg = load_config(args.config, args.set)
    info = setup_distributed(args.device)
    try:
        scores, vids, labels, labelled, list_path = score_split(
            cfg, args.checkpoint, args.split, args.list, args.views, info, not args.quiet)
    finally:
        cleanup_distributed()
    if not info.is_main:
        return 0
    import numpy as np

    bad = np.isnan(scores).any(1)
    if bad.any():
        raise MicroactionError(f"{int(bad.sum())} video(s) of {list_path} could not be read "
                               f"(see the warnings); no scores written")
    write_scores(args.out, scores, vids)
    print(f"wrote {args.out}/scores.npy and scores.csv ({len(vids)} videos)")
    if labelled:
        rep = ma52_report(scores, labels, action_to_body(scores.shape[1]))
        write_report(args.out, rep)
        from microaction.engine.runner import class_names

        names = class_names(cfg.data.root, scores.shape[1])
        confusion_matrix_png(rep["action_confusion"], [f"{i} {n}" for i, n in enumerate(names)],
                             Path(args.out) / "confusion_action.png", "action confusion")
        if scores.shape[1] == 52:
            confusion_matrix_png(rep["body_confusion"], list(BODY_NAMES),
                                 Path(args.out) / "confusion_body.png", "body confusion")
        print(format_table(rep))
    return 0


def _list_for_scores(list_path, scores_path, scores):
    from microaction.data.listfile import parse_list_file
    from microaction.scores import check_rows

    entries = parse_list_file(list_path, num_classes=scores.shape[1])
    check_rows(scores, len(entries), scores_path, list_path)
    return entries


def cmd_score(args) -> int:
    import json

    import numpy as np

    from microaction.engine.runner import action_to_body
    from microaction.metrics import format_table, ma52_report
    from microaction.scores import load_scores

    scores = load_scores(args.scores)
    entries = _list_for_scores(args.list, args.scores, scores)
    labels = np.array([e.label for e in entries])
    rep = ma52_report(scores, labels, action_to_body(scores.shape[1]))
    if args.json:
        print(json.dumps(rep))
    else:
        print(format_table(rep))
    return 0


def cmd_submit(args) -> int:
    from microaction.engine.runner import action_to_body
    from microaction.scores import load_scores, write_submission

    scores = load_scores(args.scores)
    entries = _list_for_scores(args.list, args.scores, scores)
    write_submission(args.out, scores, [e.path for e in entries], action_to_body(scores.shape[1]))
    print(f"wrote {args.out} (prediction.csv, {len(entries)} videos)")
    return 0


def cmd_predict(args) -> int:
    import json

    from microaction.errors import VideoError
    from microaction.inference import Predictor

    _setup_torch()
    predictor = Predictor.from_checkpoint(args.checkpoint)
    results, failed = [], 0
    for video in args.videos:
        try:
            results.append(predictor.predict(video, args.topk))
        except VideoError as exc:
            failed += 1
            results.append({"video": str(video), "error": str(exc)})
            print(f"error: {exc}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for r in results:
            if "error" in r:
                continue
            print(r["video"])
            for t in r["top"]:
                body = f"  [{t['body']}]" if t["body"] else ""
                print(f"  {100 * t['prob']:5.1f}%  {t['action_id']:>2} {t['action']}{body}")
    return 1 if failed else 0


def cmd_demo(args) -> int:
    from microaction.cli_demo import run_demo

    _setup_torch()
    return run_demo(args.out, clips_per_class=args.clips_per_class, epochs=args.epochs,
                    model=args.model, size=args.size, quiet=args.quiet)


# ----------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="microaction",
                                description="Micro-action recognition on MA-52 (and synthetic "
                                            "data in the same layout).")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("synth", help="generate a synthetic dataset in the MA-52 layout")
    s.add_argument("out_dir", type=Path)
    s.add_argument("--clips-per-class", type=int, default=10,
                   help="train clips per class (val and test get half each)")
    s.add_argument("--distribution", choices=["uniform", "ma52"], default="uniform",
                   help="ma52 reproduces the real long-tailed class proportions")
    s.add_argument("--size", type=int, default=112, help="frame width in px (height is 1.2x)")
    s.add_argument("--frames", type=int, default=48, help="frames per clip (30 fps)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--splits", default="train,val,test")
    s.add_argument("--participants", type=int, default=24)
    s.add_argument("--distractors", type=float, default=0.5,
                   help="probability of a small distractor movement per clip")
    s.add_argument("--workers", type=int, default=None)
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(fn=cmd_synth)

    s = sub.add_parser("check", help="validate a dataset: lists, files, decoding, labels")
    s.add_argument("data_root", type=Path)
    s.add_argument("--no-decode", action="store_true", help="only check that files exist")
    s.add_argument("--workers", type=int, default=None)
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(fn=cmd_check)

    s = sub.add_parser("prepare", help="transcode a dataset to a smaller copy (same layout)")
    s.add_argument("src", type=Path)
    s.add_argument("dst", type=Path)
    s.add_argument("--short-side", type=int, default=256)
    s.add_argument("--crf", type=int, default=20, help="x264 quality (lower = better)")
    s.add_argument("--workers", type=int, default=None)
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(fn=cmd_prepare)

    s = sub.add_parser("contact-sheet", help="PNG of a few frames of one clip per class")
    s.add_argument("data_root", type=Path)
    s.add_argument("--split", default="train")
    s.add_argument("--classes", type=_csv_ints, default=[9, 10, 43, 24, 17, 18])
    s.add_argument("--frames", type=int, default=6)
    s.add_argument("--out", type=Path, default=Path("contact_sheet.png"))
    s.set_defaults(fn=cmd_contact_sheet)

    s = sub.add_parser("models", help="list registered models with parameter counts")
    s.add_argument("--flops", action="store_true", help="also count FLOPs per clip (slow)")
    s.set_defaults(fn=cmd_models)

    s = sub.add_parser("embed-labels", help="compute a label-embedding table from class names")
    s.add_argument("label_names", type=Path, help="label_name.txt (id<TAB>name per line)")
    s.add_argument("--out", type=Path, required=True, help="output .npy (K x D float32)")
    s.add_argument("--model", default=None,
                   help="sentence-transformers model folder (default: the packaged MiniLM)")
    s.set_defaults(fn=cmd_embed_labels)

    s = sub.add_parser("train", help="train a model from a YAML config (torchrun for multi-GPU)")
    s.add_argument("config", type=Path)
    s.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value (repeatable)")
    s.add_argument("--work-dir", type=Path, default=None,
                   help="output folder (default work_dirs/<config name>)")
    s.add_argument("--resume", action="store_true", help="continue from WORK_DIR/last.pt")
    s.add_argument("--device", choices=["cpu", "cuda"], default=None)
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    s.set_defaults(fn=cmd_train)

    s = sub.add_parser("test", help="score a split with a checkpoint; metrics if labelled")
    s.add_argument("config", type=Path)
    s.add_argument("--checkpoint", type=Path, required=True)
    s.add_argument("--split", choices=["train", "val", "test"], default="val")
    s.add_argument("--list", default=None,
                   help="use this list file instead of the split's (its labels count as real)")
    s.add_argument("--views", type=_views, default=None, metavar="CLIPSxCROPS",
                   help="test views, e.g. 1x1 (default from the config) or 2x3")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    s.add_argument("--device", choices=["cpu", "cuda"], default=None)
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(fn=cmd_test)

    s = sub.add_parser("score", help="MA-52 metrics of saved scores against a list file")
    s.add_argument("scores", type=Path, help=".npy, the CSV of `test`, or the official pickle")
    s.add_argument("--list", type=Path, required=True)
    s.add_argument("--json", action="store_true", help="print the report as one JSON object")
    s.set_defaults(fn=cmd_score)

    s = sub.add_parser("submit", help="write the Codabench submission zip from test scores")
    s.add_argument("scores", type=Path)
    s.add_argument("--list", type=Path, required=True, help="test_list_videos.txt")
    s.add_argument("--out", type=Path, required=True, help="submission.zip")
    s.set_defaults(fn=cmd_submit)

    s = sub.add_parser("predict", help="top-k micro-actions of your own videos")
    s.add_argument("checkpoint", type=Path)
    s.add_argument("videos", nargs="+", type=Path)
    s.add_argument("--topk", type=_positive_int, default=5,
                   help="how many actions to list per video (at most the class count)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_predict)

    s = sub.add_parser("demo", help="synthetic data -> train small MANet -> metrics -> predict")
    s.add_argument("--out", type=Path, default=Path("runs/demo"))
    from microaction.cli_demo import DEMO

    s.add_argument("--clips-per-class", type=int, default=DEMO["clips_per_class"])
    s.add_argument("--epochs", type=int, default=DEMO["epochs"])
    s.add_argument("--model", default=DEMO["model"])
    s.add_argument("--size", type=int, default=DEMO["size"], help="model input side (px)")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(fn=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.fn(args) or 0)
    except MicroactionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
