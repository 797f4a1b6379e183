"""Does the heat point at the acting body part? The pointing game on held-out synthetic clips.

    python benchmarks/pointing_game.py [--clips 4] [--models runs/demo/train/best.pt,...]

For every class, ``--clips`` new clips (seed apart from every training set, the demo's size
57 px) are rendered with their geometry. Each model's Grad-CAM for the clip's true class is
computed on the frames the model sees; a hit is the hottest point (over frames and pixels)
falling inside the acting body part's box in that frame (``synth.geometry.part_boxes``), grown
by a tolerance of 1/8 of the crop side. Baseline: the chance that a uniformly random point (in
the crop, over the frames) falls in the same grown box. Reported per body part.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from microaction.data.clips import clip_views
from microaction.data.transforms import VideoTransform
from microaction.explain import gradcam, hottest_point
from microaction.inference import Predictor
from microaction.io import write_json
from microaction.labels import BODY_NAMES, body_of
from microaction.synth.clips import clip_scene
from microaction.synth.figure import Appearance, render_frames
from microaction.synth.geometry import part_boxes, to_crop


def pointing(predictor, clips: int, size: int = 57, length: int = 32, seed: int = 2024):
    spec = predictor.spec
    from microaction.data.clips import frame_selector

    idx = frame_selector(spec, train=False)(length)[0]
    tol = spec.size / 8
    hits = {b: [] for b in range(len(BODY_NAMES))}
    base = {b: [] for b in range(len(BODY_NAMES))}
    for action in range(52):
        for i in range(clips):
            rng = np.random.default_rng([seed, action, i])
            app = Appearance.random(np.random.default_rng([seed, 9, i]))
            scene = clip_scene(action, length, size, rng, app)
            frames = render_frames(scene.poses, scene.app, scene.cam, scene.width, scene.height,
                                   rng, scene.jitter)
            x = clip_views(frames, spec, VideoTransform(spec, False, 1), train=False)
            heat, _, _ = gradcam(predictor.model, x, class_id=action)
            boxes = to_crop(part_boxes(scene, action), scene.width, scene.height,
                            spec.short_side, spec.size)[idx]
            grown = boxes + np.array([-tol, -tol, tol, tol])
            t, y, xx = hottest_point(heat)
            b = body_of(action)
            x0, y0, x1, y1 = grown[t]
            hits[b].append(x0 <= xx <= x1 and y0 <= y <= y1)
            clipped = np.clip(grown, 0, spec.size)
            area = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
            base[b].append(float(area.mean() / spec.size ** 2))
    return {BODY_NAMES[b]: {"hit": float(np.mean(hits[b])), "random": float(np.mean(base[b])),
                            "clips": len(hits[b])} for b in hits} | {
        "all": {"hit": float(np.mean([h for v in hits.values() for h in v])),
                "random": float(np.mean([r for v in base.values() for r in v])),
                "clips": sum(len(v) for v in hits.values())}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="runs/demo/train/best.pt")
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--out", type=Path, default=Path("runs/pointing_game.json"))
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    results = {}
    for ckpt in args.models.split(","):
        p = Predictor.from_checkpoint(ckpt, num_clips=1, test_crops=1)
        name = f"{p.header()['model']} ({ckpt})"
        results[name] = pointing(p, args.clips)
        print(name, json.dumps(results[name]["all"]), flush=True)
    write_json(args.out, results)
    parts = list(BODY_NAMES) + ["all"]
    print("\n| model | " + " | ".join(parts) + " |")
    print("|---|" + "---|" * len(parts))
    for name, r in results.items():
        print(f"| {name} | " + " | ".join(f"{100 * r[b]['hit']:.0f}" for b in parts) + " |")
    first = next(iter(results.values()))
    print("| random point | " + " | ".join(f"{100 * first[b]['random']:.0f}" for b in parts)
          + " |")


if __name__ == "__main__":
    main()
