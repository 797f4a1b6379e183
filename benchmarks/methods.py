"""The paper's comparison, on the synthetic set and a CPU: every method (its small variant)
trained on the same data with the same budget, then again with MANet's joint-embedding loss.

    python benchmarks/methods.py [--data runs/demo/data] [--out runs/methods] [--epochs 10]
        [--methods TSN,TSM,...] [--no-embed-runs | --embed-runs-only]
    python benchmarks/methods.py --speed-only      # params, GFLOPs, ms for all, no training

Budget and recipe: the demo's (``microaction demo``): 52 classes x 16/8/8 clips of 32 frames at
57 px, 48 px centre crops, 10 epochs, AdamW lr 5e-4 with cosine decay, batch 8, from scratch,
frames cached in RAM, best epoch by val F1_mean; TimeSformer's matrices alone take weight decay.
Inputs fit the 32-frame clips: segment models 8 segments; TANet 8 frames 4 apart; C3D, I3D and
SlowFast 16 frames 2 apart; R(2+1)D and TimeSformer 8 frames 4 apart.

Reported per run: parameters and GFLOPs per clip at the benchmark input, CPU ms per clip
forward and forward+backward (batch 8, 2 threads; medians of 7 batches), the paper's metrics
on val, and accuracy within the six motion-only class pairs on val + the labelled test split
(chance 50 %).
A finished run (``OUT/<run>/result.json``) is reused and an interrupted one resumes from its
last epoch (``last.pt``), so a stopped benchmark continues where it was.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from temporal_vs_tsn import within_group
from timing import median_ms

from microaction.cli.demo import DEMO, demo_config, synth_size_for
from microaction.engine.checkpoint import load_checkpoint
from microaction.engine.distributed import DistInfo
from microaction.engine.runner import build_model, fit
from microaction.inference import score_split
from microaction.io import write_json
from microaction.metrics import ma52_report
from microaction.models.profile import count_parameters, flops_per_clip
from microaction.synth.clips import generate_dataset

# method -> (the paper-size model it stands for, small variant, input overrides)
METHODS = {
    "TSN": ("tsn_r50", "tsn_r18", {}),
    "TSM": ("tsm_r50", "tsm_r18", {}),
    "TIN": ("tin_r50", "tin_r18", {}),
    "TANet": ("tanet_r50", "tanet_r18", {"clip_len": 8, "interval": 4}),
    "C3D": ("c3d", "c3d_narrow", {"clip_len": 16, "interval": 2}),
    "I3D": ("i3d_r50", "i3d_r18", {"clip_len": 16, "interval": 2}),
    "R(2+1)D": ("r2plus1d_r34", "r2plus1d_r18", {"clip_len": 8, "interval": 4}),
    "SlowFast": ("slowfast_r50", "slowfast_r18", {"clip_len": 16, "interval": 2}),
    "TimeSformer": ("timesformer_b", "timesformer_s", {"clip_len": 8, "interval": 4}),
    "MANet": ("manet_r50", "manet_r18", {}),
}
PAPER_F1_MEAN = {"C3D": 58.43, "I3D": 61.66, "SlowFast": 63.09, "TSM": 61.39, "MANet": 65.59}


def config_for(data: Path, method: str, embed: bool, epochs: int, size: int):
    _, small, over = METHODS[method]
    cfg = demo_config(data, small, size, epochs)
    cfg.model.clip_len = over.get("clip_len", cfg.model.clip_len)
    cfg.model.interval = over.get("interval")
    if embed:
        cfg.model.embed_head = True
    if small.startswith("timesformer"):
        cfg.train.param_groups = "transformer"
    return cfg


def speed(model, batch: int = 8, repeats: int = 7) -> tuple[float, float]:
    """ms per clip: forward (eval, no grad) and forward + backward + AdamW step (train).

    Each the median of ``repeats`` timed batches after two warm-up batches.
    """
    s = model.input_spec
    x = torch.randn(batch, 3, s.clip_len, s.size, s.size)
    y = torch.randint(0, 52, (batch,))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x).logits, y).backward()
        opt.step()

    model.eval()
    with torch.no_grad():
        fwd = median_ms(lambda: model(x), repeats, warmup=2)
    model.train()
    both = median_ms(step, repeats, warmup=2)
    return fwd / batch, both / batch


def run(cfg, run_dir: Path, root: Path) -> dict:
    done = run_dir / "result.json"
    if done.exists():
        return json.loads(done.read_text())
    model, _ = build_model(cfg)
    res = {"model": cfg.model.name, "embed_head": bool(cfg.model.embed_head),
           "params": count_parameters(model), "gflops": flops_per_clip(model) / 1e9,
           "input": model.input_spec.to_dict()}
    res["ms_forward"], res["ms_forward_backward"] = speed(model)
    # an interrupted run continues from its last epoch; train_seconds is then this sitting's
    resumed = (run_dir / "last.pt").exists()
    if resumed:
        res["resumed_from_epoch"] = load_checkpoint(run_dir / "last.pt")["progress"]["epoch"]
    t0 = time.perf_counter()
    report = fit(cfg, run_dir, DistInfo(), resume=resumed, progress=False, overwrite=not resumed)
    res["train_seconds"] = round(time.perf_counter() - t0)
    res["val"] = {k: report[k] for k in ("action_top1", "action_top5", "body_top1",
                                         "action_f1_macro", "action_f1_micro", "body_f1_macro",
                                         "body_f1_micro", "f1_mean")}
    res["best_epoch"] = report["epoch"]
    scores, labels = [], []
    for split, lst in (("val", None), ("test", root / "test_list_videos_labeled.txt")):
        s, _, y, _, _, _ = score_split(cfg, run_dir / "best.pt", split, lst, None, DistInfo(),
                                       progress=False)
        scores.append(s)
        labels.append(y)
    res["test"] = {k: v for k, v in ma52_report(scores[1], labels[1]).items()
                   if k in res["val"]}
    acc, _, n, per_pair = within_group(np.concatenate(scores), np.concatenate(labels))
    res["within_pairs"], res["within_pairs_clips"], res["per_pair"] = acc, n, per_pair
    write_json(done, res)
    return res


def resumed_note(r: dict) -> str:
    return f" (from epoch {r['resumed_from_epoch']})" if "resumed_from_epoch" in r else ""


def table(results: dict) -> str:
    head = ("| method (small variant) | params | GFLOPs/clip | ms fwd | ms fwd+bwd | top-1 | "
            "top-5 | body top-1 | action F1 macro / micro | body F1 macro / micro | F1_mean | "
            "within pairs | train s |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, r in results.items():
        v = r["val"]
        lines.append(
            f"| {name} ({r['model']}) | {r['params'] / 1e6:.1f} M | {r['gflops']:.2f} | "
            f"{r['ms_forward']:.0f} | {r['ms_forward_backward']:.0f} | "
            f"{100 * v['action_top1']:.1f} | {100 * v['action_top5']:.1f} | "
            f"{100 * v['body_top1']:.1f} | {100 * v['action_f1_macro']:.1f} / "
            f"{100 * v['action_f1_micro']:.1f} | {100 * v['body_f1_macro']:.1f} / "
            f"{100 * v['body_f1_micro']:.1f} | **{100 * v['f1_mean']:.1f}** | "
            f"{100 * r['within_pairs']:.1f} | {r['train_seconds']}{resumed_note(r)} |")
    return "\n".join(lines)


def speed_table(args) -> None:
    rows = {}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch 8, ms per clip")
    print("| method (small variant) | params | GFLOPs/clip | ms fwd | ms fwd+bwd | "
          "+ embed head: ms fwd | ms fwd+bwd |\n|---|---|---|---|---|---|---|")
    for method in args.methods.split(","):
        row = {}
        for embed in (False, True):
            model = build_model(config_for(args.data, method, embed, args.epochs, args.size))[0]
            fwd, both = speed(model)
            row["embed" if embed else "plain"] = {
                "params": count_parameters(model), "gflops": flops_per_clip(model) / 1e9,
                "ms_forward": fwd, "ms_forward_backward": both}
        rows[method] = row
        p, e = row["plain"], row["embed"]
        print(f"| {method} ({METHODS[method][1]}) | {p['params'] / 1e6:.1f} M | "
              f"{p['gflops']:.2f} | {p['ms_forward']:.0f} | {p['ms_forward_backward']:.0f} | "
              f"{e['ms_forward']:.0f} | {e['ms_forward_backward']:.0f} |", flush=True)
    write_json(args.out / "speed.json", {"threads": torch.get_num_threads(), "batch": 8,
                                         "methods": rows})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("runs/demo/data"))
    ap.add_argument("--out", type=Path, default=Path("runs/methods"))
    ap.add_argument("--epochs", type=int, default=DEMO["epochs"])
    ap.add_argument("--size", type=int, default=DEMO["size"])
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--no-embed-runs", action="store_true",
                    help="skip the runs with the joint-embedding loss switched on")
    ap.add_argument("--embed-runs-only", action="store_true",
                    help="only the runs with the joint-embedding loss (plain runs already "
                         "finished under --out are still reported)")
    ap.add_argument("--speed-only", action="store_true",
                    help="train nothing: measure params, GFLOPs and ms of every method, plain "
                         "and with the embedding head, in one sitting; writes OUT/speed.json")
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    t_start = time.perf_counter()
    if not (args.data / "train_list_videos.txt").exists():
        generate_dataset(args.data, clips_per_class=DEMO["clips_per_class"],
                         size=synth_size_for(args.size), length=DEMO["synth_length"],
                         participants=DEMO["participants"], distractors=DEMO["distractors"])
    if args.speed_only:
        return speed_table(args)
    plain, embedded = {}, {}
    for method in args.methods.split(","):
        big, small, _ = METHODS[method]
        # with --embed-runs-only a plain run is only read back, when it has finished
        plain_done = (args.out / small / "result.json").exists()
        variants = [(plain, False)] if plain_done or not args.embed_runs_only else []
        if not args.no_embed_runs and method not in ("MANet",):
            variants.append((embedded, True))
        for target, embed in variants:
            cfg = config_for(args.data, method, embed, args.epochs, args.size)
            tag = small + ("+embed" if embed else "")
            target[method] = r = run(cfg, args.out / tag, args.data)
            print(f"== {method} ({tag}): val F1_mean {100 * r['val']['f1_mean']:.1f}, "
                  f"within pairs {100 * r['within_pairs']:.1f} % ({r['train_seconds']} s"
                  f"{resumed_note(r)})",
                  flush=True)
    summary = {"plain": plain, "with_joint_embedding_loss": embedded,
               "wall_seconds": round(time.perf_counter() - t_start)}
    write_json(args.out / "methods.json", summary)
    if plain:
        print("\n" + table(plain))
    if embedded:
        print("\nwith MANet's joint-embedding loss (model.embed_head: true):\n" + table(embedded))
    print(f"\nwall time {summary['wall_seconds'] / 60:.0f} min")


if __name__ == "__main__":
    main()
