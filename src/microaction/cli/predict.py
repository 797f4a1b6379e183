"""``predict``: top-k micro-actions of your own videos."""

from __future__ import annotations

import sys
from pathlib import Path

from microaction.cli.common import add_verb, positive_int, setup_torch, views


def is_export(path: Path) -> bool:
    """An ONNX file, or a TorchScript archive carrying microaction's metadata."""
    import zipfile

    if path.suffix.lower() == ".onnx":
        return True
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("extra/microaction.json") for n in z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def cmd_predict(args) -> int:
    import json

    from microaction.errors import VideoError
    from microaction.inference import Predictor

    setup_torch()
    clips, crops = args.views or (None, None)
    if is_export(args.checkpoint):
        from microaction.export import ExportedPredictor

        predictor = ExportedPredictor(args.checkpoint, clips, crops)
    else:
        predictor = Predictor.from_checkpoint(args.checkpoint, num_clips=clips,
                                              test_crops=crops, force=args.force)
    header = predictor.header()
    results, failed = [], 0
    for video in args.videos:
        try:
            results.append(predictor.predict(video, args.topk))
        except VideoError as exc:
            failed += 1
            results.append({"video": str(video), "error": str(exc)})
            print(f"error: {exc}", file=sys.stderr)
    if args.json:
        print(json.dumps({"checkpoint": str(args.checkpoint), **header, "results": results},
                         indent=1))
        return 1 if failed else 0
    print(f"{header['model']} ({header['sampling']} {header['clip_len']} frames, "
          f"{header['size']} px, {header['views']} views), {header['training']}")
    for r in results:
        if "error" in r:
            continue
        print(r["video"])
        for t in r["top"]:
            body = f"  [{t['body']}]" if t["body"] else ""
            print(f"  {100 * t['prob']:5.1f}%  {t['action_id']:>2} {t['action']}{body}")
    return 1 if failed else 0


def register(sub) -> None:
    p = add_verb(sub, "predict", "top-k micro-actions of your own videos",
                 "microaction predict runs/demo/train/best.pt clip.mp4 --topk 5", cmd_predict,
                 "Uses the checkpoint's own sampling, transforms and test views. A video that "
                 "cannot\nbe read gets an error line; the others still run; exit code 1 if any "
                 "failed.")
    p.add_argument("checkpoint", type=Path,
                   help="a microaction checkpoint (.pt), or a model made by `export` (.onnx "
                        "runs with ONNX Runtime, TorchScript with PyTorch)")
    p.add_argument("videos", nargs="+", type=Path, help="video files")
    p.add_argument("--topk", type=positive_int, default=5,
                   help="how many actions to list per video (at most the class count)")
    p.add_argument("--views", type=views, default=None, metavar="CLIPSxCROPS",
                   help="test views (default: those the checkpoint was validated with)")
    p.add_argument("--force", action="store_true",
                   help="use test views that do not fit how the model was trained")
    p.add_argument("--json", action="store_true", help="one JSON object with every result")
