"""Export parity per family: every registered method at its own input spec, exported to ONNX
(opset 17) and TorchScript, then the exported model compared with PyTorch.

    python benchmarks/export_parity.py [--models tsn_r50,...] [--out runs/export_parity.json]

Fresh seeded weights (`timeline_speed.fresh_checkpoint`; parity does not depend on training).
The figure is the largest absolute difference between the softmax outputs of PyTorch and of ONNX
Runtime (CPU) / TorchScript, over batches of 1 and 3 random clips (the batch axis is dynamic: traced with one clip). The test
suite checks the same for the small variants at 32 px (`tests/test_explain_export.py`).
"""

import argparse
import tempfile
import time
from pathlib import Path

import torch
from timeline_speed import fresh_checkpoint

from microaction.export import export
from microaction.io import write_json

PAPER_SIZE = ("tsn_r50", "tsm_r50", "tin_r50", "tanet_r50", "c3d", "i3d_r50", "r2plus1d_r34",
              "slowfast_r50", "timesformer_b", "manet_r50")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(PAPER_SIZE))
    ap.add_argument("--out", type=Path, default=Path("runs/export_parity.json"))
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    results = {}
    print("| model | input | ONNX max abs (softmax) | TorchScript max abs (softmax) | export s |")
    print("|---|---|---|---|---|")
    for name in args.models.split(","):
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = Path(tmp) / "m.pt"
            fresh_checkpoint(ckpt, name)
            spec = torch.load(ckpt, weights_only=True)["input_spec"]
            row = {"input": f"{spec['clip_len']} x {spec['size']}"}
            for fmt, suffix in (("onnx", ".onnx"), ("torchscript", ".ts")):
                row[fmt] = export(ckpt, fmt, Path(tmp) / f"m{suffix}")["parity_max_abs_softmax"]
        row["seconds"] = round(time.perf_counter() - t0, 1)
        results[name] = row
        print(f"| {name} | {row['input']} | {row['onnx']:.1e} | {row['torchscript']:.1e} | "
              f"{row['seconds']} |", flush=True)
    write_json(args.out, results)


if __name__ == "__main__":
    main()
