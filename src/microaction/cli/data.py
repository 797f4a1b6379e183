"""Data verbs: ``synth``, ``check``, ``prepare``, ``contact-sheet``."""

from __future__ import annotations

from pathlib import Path

from microaction.cli.common import (add_generator_args, add_quiet, add_verb, csv_ints,
                                    deprecated_alias, positive_int)
from microaction.errors import MicroactionError


def cmd_synth(args) -> int:
    from microaction.synth.clips import generate_dataset

    splits = tuple(s.strip() for s in args.splits.split(",") if s.strip())
    try:
        info = generate_dataset(args.out_dir, args.clips_per_class, args.distribution, args.size,
                                args.length, args.seed, splits, args.participants,
                                args.distractors, args.workers, progress=not args.quiet)
    except ValueError as exc:
        raise MicroactionError(str(exc)) from None
    clips = ", ".join(f"{k}: {v}" for k, v in info["clips"].items())
    print(f"wrote {args.out_dir} ({clips} clips, {info['size']} px, {info['length']} frames)")
    return 0


def cmd_check(args) -> int:
    from microaction.data.check import check_dataset

    report = check_dataset(args.data_root, decode=not args.no_decode, workers=args.workers,
                           progress=not args.quiet)
    for note in report.notes:
        print(f"note: {note}")
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
    from microaction.data.clips import frame_selector
    from microaction.data.listfile import parse_list_file, split_files
    from microaction.data.video import read_video
    from microaction.labels import LabelSpace
    from microaction.plots import contact_sheet
    from microaction.spec import InputSpec

    labels = LabelSpace.for_root(args.data_root)
    list_file, video_dir = split_files(args.data_root, args.split)
    entries = parse_list_file(list_file, len(labels))
    select = frame_selector(InputSpec(clip_len=args.shown, size=1, short_side=1), train=False)
    clips = []
    for c in args.classes:
        if not 0 <= c < len(labels):
            raise MicroactionError(f"--classes: class {c} is outside 0..{len(labels) - 1}")
        match = [e for e in entries if e.label == c]
        if not match:
            raise MicroactionError(f"{list_file}: no clip of class {c}")
        clip = read_video(video_dir / match[0].path, lambda n: select(n)[0])
        clips.append((f"{c} {labels.names[c]}  ({match[0].path})", clip.frames))
    contact_sheet(clips, args.out)
    print(f"wrote {args.out}")
    return 0


def register(sub) -> None:
    p = add_verb(sub, "synth", "generate a synthetic dataset in the MA-52 layout",
                 "microaction synth data/synth --clips-per-class 10 --size 112 --length 32",
                 cmd_synth,
                 "Writes videos_{train,val,test}/, the three list files, label_name.txt,\n"
                 "test_list_videos_labeled.txt (the test split's true labels) and "
                 "synth_info.json.\nResumable: an interrupted run continues; a folder made "
                 "with other settings is refused.")
    p.add_argument("out_dir", type=Path, help="folder to write the dataset into")
    p.add_argument("--clips-per-class", type=positive_int, default=10,
                   help="train clips per class (val and test get half each)")
    p.add_argument("--distribution", choices=["uniform", "ma52"], default="uniform",
                   help="ma52 reproduces the real long-tailed class proportions")
    p.add_argument("--size", type=int, default=112, help="frame width in px (height is 1.2x)")
    p.add_argument("--length", type=int, default=48, help="frames per clip (30 fps)")
    deprecated_alias(p, "--frames", "--length", "length", int)
    p.add_argument("--participants", type=positive_int, default=24,
                   help="distinct synthetic people")
    p.add_argument("--distractors", type=float, default=0.5,
                   help="probability of a small distractor movement per clip")
    add_generator_args(p, "train,val,test")

    p = add_verb(sub, "check", "validate a dataset: lists, files, decoding, labels",
                 "microaction check /data/MA-52", cmd_check,
                 "DATA_ROOT holds videos_{train,val,test}/, {train,val,test}_list_videos.txt "
                 "and\n(optionally) label_name.txt. Prints per-class and per-body-part counts "
                 "and\nevery problem as file:line; exits 1 if there is any.")
    p.add_argument("data_root", type=Path, help="dataset root in the MA-52 layout")
    p.add_argument("--no-decode", action="store_true", help="only check that files exist")
    p.add_argument("--workers", type=int, default=None, help="processes (default: CPU count)")
    add_quiet(p)

    p = add_verb(sub, "prepare", "transcode a dataset to a smaller copy (same layout)",
                 "microaction prepare /data/MA-52 /data/MA-52-256 --short-side 256", cmd_prepare,
                 "Frame count and fps are kept; resumable (finished files are skipped); "
                 "each file\nappears atomically. Exits 1 if any clip failed to decode.")
    p.add_argument("src", type=Path, help="source dataset root")
    p.add_argument("dst", type=Path, help="destination root (created)")
    p.add_argument("--short-side", type=int, default=256, help="shrink frames to this short side")
    p.add_argument("--crf", type=int, default=20, help="x264 quality (lower = better)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: CPU count)")
    add_quiet(p)

    p = add_verb(sub, "contact-sheet", "PNG of a few frames of one clip per class",
                 "microaction contact-sheet data/synth --classes 9,10,43 --out sheet.png",
                 cmd_contact_sheet)
    p.add_argument("data_root", type=Path, help="dataset root in the MA-52 layout")
    p.add_argument("--split", default="train", choices=["train", "val", "test"],
                   help="split to take clips from")
    p.add_argument("--classes", type=csv_ints, default=[9, 10, 43, 24, 17, 18],
                   help="comma-separated class ids, one row each")
    p.add_argument("--shown", type=positive_int, default=6,
                   help="frames shown per clip (segment centres)")
    deprecated_alias(p, "--frames", "--shown", "shown", positive_int)
    p.add_argument("--out", type=Path, default=Path("contact_sheet.png"), help="PNG to write")
