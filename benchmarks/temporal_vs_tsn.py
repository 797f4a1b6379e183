"""TSN vs TSM vs MANet at the demo's settings, on the synthetic set.

The synthetic generator makes some class groups differ *only* in motion (same single-frame pose
distribution): stretching/retracting arms, stretching/retracting feet, spread/closing legs,
turning/shaking head, bowing head/nodding, touching/patting legs. A per-frame model (TSN) cannot
separate them; temporal models (TSM, MANet) can. Reported: the paper's metrics on val, and
"within-group accuracy" -- for held-out clips of those groups, how often the highest-scoring
class *of the clip's group* is the right one (chance = 1/2). It is measured on val and on the
labelled test split; the test split played no part in training or in picking the checkpoint.

    python benchmarks/temporal_vs_tsn.py [--data runs/demo/data] [--seeds 0,1,2] [--epochs 10]

The data and training settings are the demo's (``microaction demo``); pointing ``--data`` at a
finished demo's ``data/`` reuses its synthetic set. At a 10-epoch budget one training run is not
enough to call a winner, so every model is trained once per seed (same data) and the summary
gives each model's within-group accuracy per seed and its margin over TSN (mean, min, max).
A finished model/seed run (``OUT/seedK/MODEL/result.json``) is reused, so an interrupted
benchmark continues where it stopped.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from microaction.cli.demo import DEMO, demo_config, synth_size_for
from microaction.synth.clips import generate_dataset
from microaction.synth.motions import MOTION_ONLY_GROUPS
from microaction.engine.distributed import DistInfo
from microaction.engine.runner import fit
from microaction.inference import score_split
from microaction.io import write_json
from microaction.metrics import format_table, ma52_report


def within_group(scores: np.ndarray, labels: np.ndarray):
    """(accuracy, chance, clips, {group: accuracy}) over the clips of the motion-only groups."""
    hits, total, chance, per_group = 0, 0, [], {}
    for group in MOTION_ONLY_GROUPS:
        g = np.array(group)
        mask = np.isin(labels, g)
        if not mask.any():
            continue
        right = int((g[scores[mask][:, g].argmax(1)] == labels[mask]).sum())
        per_group["/".join(map(str, group))] = right / int(mask.sum())
        hits += right
        total += int(mask.sum())
        chance += [1 / len(g)] * int(mask.sum())
    return hits / max(total, 1), float(np.mean(chance)), total, per_group


def summarise(results: dict, baseline: str = "tsn_r18") -> dict:
    """Per model: within-group accuracy on val + test per seed, its mean / min / max, and (when
    the baseline ran with the same seeds) the margin over the baseline per seed."""
    summary = {}
    for name, by_seed in results.items():
        acc = {seed: r["within_both"] for seed, r in by_seed.items()}
        row = {"within_both": acc, "mean": float(np.mean(list(acc.values()))),
               "min": min(acc.values()), "max": max(acc.values())}
        base = results.get(baseline, {})
        if name != baseline and set(base) >= set(acc):
            margin = {seed: acc[seed] - base[seed]["within_both"] for seed in acc}
            row["margin_over_" + baseline] = {"per_seed": margin,
                                              "mean": float(np.mean(list(margin.values()))),
                                              "min": min(margin.values()),
                                              "max": max(margin.values())}
        summary[name] = row
    return summary


def run_one(cfg, run_dir: Path, root: Path) -> dict:
    """Train one model with one seed, score val and the labelled test split."""
    done = run_dir / "result.json"
    if done.exists():
        return json.loads(done.read_text())
    t0 = time.perf_counter()
    fit(cfg, run_dir, DistInfo(), progress=False)
    res = {"train_seconds": round(time.perf_counter() - t0)}
    both_scores, both_labels = [], []
    for split in ("val", "test"):
        labelled = root / "test_list_videos_labeled.txt" if split == "test" else None
        scores, _, labels, _, _, _ = score_split(cfg, run_dir / "best.pt", split, labelled,
                                                 None, DistInfo(), progress=False)
        rep = ma52_report(scores, labels)
        acc, chance, n, per_group = within_group(scores, labels)
        res[split] = {"within_group_acc": acc, "within_group_chance": chance,
                      "within_group_clips": n, "within_group_per_pair": per_group,
                      **{k: rep[k] for k in ("action_top1", "action_top5", "body_top1",
                                             "f1_mean")}}
        print(f"== {run_dir}: {split} within-group accuracy {100 * acc:.1f}% "
              f"(chance {100 * chance:.1f}%, {n} clips)")
        print(format_table(rep), flush=True)
        both_scores.append(scores)
        both_labels.append(labels)
    acc, _, _, per_group = within_group(np.concatenate(both_scores), np.concatenate(both_labels))
    res["within_both"], res["within_both_per_pair"] = acc, per_group
    write_json(done, res)
    return res


def motion_only_subset(data: Path, out: Path) -> Path:
    """A dataset root holding only the clips of the motion-only groups (labels unchanged, the
    videos linked): trains in a fraction of the time, so temporal cues get more epochs."""
    from microaction.data.listfile import parse_list_file, split_files, write_list_file

    keep = {c for g in MOTION_ONLY_GROUPS for c in g}
    out.mkdir(parents=True, exist_ok=True)
    for split in ("train", "val", "test"):
        list_file, video_dir = split_files(data, split)
        new_list, new_dir = split_files(out, split)
        if split == "test":
            list_file, new_list = (p.with_name("test_list_videos_labeled.txt")
                                   for p in (list_file, new_list))
        entries = [(e.path, e.label) for e in parse_list_file(list_file) if e.label in keep]
        write_list_file(new_list, entries)
        if not new_dir.exists():
            new_dir.symlink_to(video_dir.resolve(), target_is_directory=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("runs/bench/data"))
    ap.add_argument("--out", type=Path, default=Path("runs/bench"))
    ap.add_argument("--models", default="tsn_r18,tsm_r18,manet_r18")
    ap.add_argument("--clips-per-class", type=int, default=DEMO["clips_per_class"])
    ap.add_argument("--epochs", type=int, default=DEMO["epochs"])
    ap.add_argument("--size", type=int, default=DEMO["size"])
    ap.add_argument("--batch-size", type=int, default=None, help="default: the demo's")
    ap.add_argument("--lr", type=float, default=None, help="default: the demo's")
    ap.add_argument("--seeds", default="0,1,2",
                    help="training seeds, comma-separated (the data stay the same)")
    ap.add_argument("--motion-only", action="store_true",
                    help="train and evaluate on the motion-only groups' clips only")
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    if not (args.data / "train_list_videos.txt").exists():
        generate_dataset(args.data, clips_per_class=args.clips_per_class,
                         size=synth_size_for(args.size), length=DEMO["synth_length"],
                         participants=DEMO["participants"], distractors=DEMO["distractors"])
    root = motion_only_subset(args.data, args.out / "motion_only_data") if args.motion_only \
        else args.data
    seeds = [int(v) for v in args.seeds.split(",")]
    results = {}
    for seed in seeds:
        for name in args.models.split(","):
            cfg = demo_config(root, name, args.size, args.epochs)
            cfg.train.seed = seed
            cfg.train.batch_size = args.batch_size or cfg.train.batch_size
            cfg.train.lr = args.lr or cfg.train.lr
            res = run_one(cfg, args.out / f"seed{seed}" / name, root)
            results.setdefault(name, {})[seed] = res
            print(f"== {name} seed {seed}: within-group val + test {100 * res['within_both']:.1f}%"
                  f" ({res['train_seconds']} s training)", flush=True)
    summary = summarise(results)
    out = {"summary": summary, "runs": results}
    write_json(args.out / "temporal_vs_tsn.json", out)
    for name, row in summary.items():
        line = (f"{name}: within-group val + test mean {100 * row['mean']:.1f}% "
                f"(min {100 * row['min']:.1f}, max {100 * row['max']:.1f}, {len(seeds)} seeds)")
        margin = row.get("margin_over_tsn_r18")
        if margin:
            line += (f"; over TSN {100 * margin['mean']:+.1f} points "
                     f"(min {100 * margin['min']:+.1f}, max {100 * margin['max']:+.1f})")
        print(line)


if __name__ == "__main__":
    main()
