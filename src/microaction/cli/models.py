"""Model verbs: ``models``, ``info``, ``convert``, ``export``, ``embed-labels``."""

from __future__ import annotations

from pathlib import Path

from microaction.cli.common import add_verb


def cmd_models(args) -> int:
    import fnmatch

    from microaction.errors import MicroactionError
    from microaction.models import create_model, list_models
    from microaction.models.profile import count_parameters, flops_per_clip

    names = [n for n in list_models()
             if not args.patterns or any(fnmatch.fnmatch(n, p) for p in args.patterns)]
    if not names:
        raise MicroactionError(f"no registered model matches {' '.join(args.patterns)} "
                               f"(see `microaction models`)")

    head = f"{'model':<16} {'input':<24} {'params':>12}" + (f" {'GFLOPs/clip':>12}"
                                                            if args.flops else "")
    print(head)
    print("-" * len(head))
    for name in names:
        model = create_model(name)
        spec = model.input_spec
        shape = f"{spec.clip_len}x{spec.size}px" if spec.sampling == "segment" else \
            f"{spec.clip_len}x{spec.interval} {spec.size}px"
        line = f"{name:<16} {f'{spec.sampling} {shape}':<24} {count_parameters(model):>12,}"
        if args.flops:
            line += f" {flops_per_clip(model) / 1e9:>12.1f}"
        print(line, flush=True)
    if args.flops:
        print("\nFLOPs counted by torch.utils.flop_counter for one clip at the model's input "
              "size (1 multiply-add = 2 FLOPs).")
    return 0


def checkpoint_summary(path: Path) -> list[str]:
    """Lines describing a checkpoint: model, input, classes, training data and config, epoch,
    metrics, size."""
    from microaction.engine.checkpoint import load_checkpoint
    from microaction.inference import checkpoint_labels, describe_training
    from microaction.metrics import format_table
    from microaction.spec import InputSpec

    ck = load_checkpoint(path)
    spec = InputSpec.from_dict(ck["input_spec"])
    labels = checkpoint_labels(ck)
    params = sum(v.numel() for k, v in ck["state_dict"].items()
                 if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    kwargs = ", ".join(f"{k}={v}" for k, v in ck.get("model_kwargs", {}).items())
    names = ", ".join(labels.names[:4]) + (", ..." if len(labels) > 4 else "")
    prog = ck.get("progress", {})
    cfg = ck.get("config", {})
    lines = [f"checkpoint  {path} ({path.stat().st_size / 2**20:.1f} MB)",
             f"model       {ck.get('model')} ({kwargs}); {params:,} parameters",
             f"input       {spec.sampling} sampling, {spec.clip_len} frames"
             + (f" x interval {spec.interval}" if spec.sampling == "dense" else "")
             + f", {spec.size} px crops of a {spec.short_side} px short side",
             f"classes     {len(labels)}{' (MA-52, with body parts)' if labels.is_ma52 else ''}: "
             f"{names}",
             f"training    {describe_training(ck)}",
             f"epoch       {prog.get('epoch', '?')} of {cfg.get('train', {}).get('epochs', '?')}"
             + (f"; best epoch {prog['best_epoch']}" if prog.get("best_epoch") else ""),
             f"resumable   {'yes (optimizer state inside)' if 'optimizer' in ck else 'no'}"]
    if cfg:
        t, m, d = cfg.get("train", {}), cfg.get("model", {}), cfg.get("data", {})
        lines.append(f"config      {t.get('optimizer')} lr {t.get('lr')}, batch "
                     f"{t.get('batch_size')}, {t.get('lr_schedule')} schedule, amp "
                     f"{t.get('amp')}, train crop {d.get('train_crop')}, test views "
                     f"{d.get('test_clips')}x{d.get('test_crops')}, embed weight "
                     f"{m.get('embed_weight')}")
    if ck.get("metrics"):
        lines += [f"metrics (validation, epoch {ck['metrics'].get('epoch', '?')}):",
                  *("  " + ln for ln in format_table(ck["metrics"]).splitlines())]
    return lines


def cmd_info(args) -> int:
    import json

    if args.json:
        from microaction.engine.checkpoint import load_checkpoint

        ck = load_checkpoint(args.checkpoint)
        keep = {k: v for k, v in ck.items() if k not in ("state_dict", "optimizer", "scheduler",
                                                         "scaler", "rng")}
        if "metrics" in keep:
            keep["metrics"] = {k: v for k, v in keep["metrics"].items()
                               if not isinstance(v, (list, dict))}
        print(json.dumps(keep, indent=1, default=str))
        return 0
    print("\n".join(checkpoint_summary(args.checkpoint)))
    return 0


def cmd_embed_labels(args) -> int:
    from microaction.io import save_npy
    from microaction.label_embeddings import embed_names
    from microaction.labels import read_label_names

    names = read_label_names(args.label_names)
    table = embed_names(names, args.model)
    save_npy(args.out, table)
    print(f"wrote {args.out}: {table.shape[0]} classes x {table.shape[1]} dims")
    return 0


def cmd_convert(args) -> int:
    from microaction.convert import convert_checkpoint

    summary = convert_checkpoint(args.checkpoint, args.out, args.clip_len, args.label_names)
    dropped = summary["dropped"]
    print(f"wrote {args.out}: {summary['model']}, {summary['num_classes']} classes, "
          f"{summary['parameters']:,} parameters; dropped {dropped['tensors']} unused official "
          f"tensors ({dropped['parameters']:,} parameters)")
    return 0


def cmd_export(args) -> int:
    from microaction.export import export

    meta = export(args.checkpoint, args.format, args.out)
    opset = f", ONNX opset {meta['opset']}" if meta["opset"] else ""
    print(f"wrote {args.out}: {meta['model']} as {args.format}{opset}, input (batch, 3, "
          f"{meta['input_spec']['clip_len']}, {meta['input_spec']['size']}, "
          f"{meta['input_spec']['size']}) with a dynamic batch, {len(meta['class_names'])} "
          f"classes; checked against PyTorch: max |softmax difference| "
          f"{meta['parity_max_abs_softmax']:.1e}")
    if meta["parity_max_abs_softmax"] > 1e-4:
        from microaction.errors import MicroactionError

        raise MicroactionError(f"{args.out}: the export differs from PyTorch by "
                               f"{meta['parity_max_abs_softmax']:.1e} (> 1e-4); do not use it")
    return 0


def register(sub) -> None:
    p = add_verb(sub, "models", "list registered models with input and parameter count",
                 "microaction models 'manet_*' --flops", cmd_models)
    p.add_argument("patterns", nargs="*", help="model names or shell patterns (default: all)")
    p.add_argument("--flops", action="store_true", help="also count FLOPs per clip (slow)")

    p = add_verb(sub, "info", "describe a checkpoint: model, input, classes, data, metrics",
                 "microaction info runs/demo/train/best.pt", cmd_info)
    p.add_argument("checkpoint", type=Path, help="a microaction checkpoint (.pt)")
    p.add_argument("--json", action="store_true",
                   help="everything but the tensors, as one JSON object")

    p = add_verb(sub, "convert", "turn an official MANet/TSM/TSN checkpoint into a microaction one",
                 "microaction convert manet_official.pth --out manet_r50.pt", cmd_convert,
                 "The official release's mmaction2 layout (state_dict with backbone.* and "
                 "cls_head.*).\nUnused official tensors (action_p2_*) are dropped and counted; a "
                 "missing or\nmisshapen tensor is an error naming the key. The result works with "
                 "test, predict,\ntimeline and (as model.pretrained) train.")
    p.add_argument("checkpoint", type=Path, help="official .pth checkpoint")
    p.add_argument("--out", type=Path, required=True, help="microaction checkpoint to write")
    p.add_argument("--clip-len", type=int, default=8, help="segments the model was trained with")
    p.add_argument("--label-names", type=Path, default=None,
                   help="label_name.txt for the class names (default: MA-52's for 52 classes)")

    p = add_verb(sub, "export", "export a checkpoint to ONNX or TorchScript for deployment",
                 "microaction export runs/demo/train/best.pt --format onnx --out demo.onnx",
                 cmd_export,
                 "Input (batch, 3, T, H, W) with a dynamic batch, output logits; the input spec, "
                 "class\nnames and test views travel inside the file. Checked against PyTorch "
                 "after writing.\n`microaction predict` accepts the result.")
    p.add_argument("checkpoint", type=Path, help="a microaction checkpoint (.pt)")
    p.add_argument("--format", choices=["onnx", "torchscript"], default="onnx",
                   help="ONNX (ONNX Runtime) or TorchScript (PyTorch without Python code)")
    p.add_argument("--out", type=Path, required=True, help="file to write")

    p = add_verb(sub, "embed-labels", "compute a label-embedding table from class names",
                 "microaction embed-labels data/synth/label_name.txt --out emb.npy",
                 cmd_embed_labels)
    p.add_argument("label_names", type=Path, help="label_name.txt (id<TAB>name per line)")
    p.add_argument("--out", type=Path, required=True, help="output .npy (K x D float32)")
    p.add_argument("--model", default=None,
                   help="sentence-transformers model folder (default: the packaged MiniLM)")
