"""How much each motion-only class moves on screen, as a model sees it.

For each class of the motion-only pairs: render clips without camera noise or distractor
movements at the demo's clip size, take the 8 segment-centre frames a model sees, and sum the
absolute deviation of each grey frame from the mean of the 8 (divided by 255: "full-contrast
pixels' worth" of change). Averaged over clips. A pair whose figure is a few pixels is hard to
learn at a 10-epoch budget however good the temporal model.

    python benchmarks/motion_energy.py [--size 57] [--clips 16] [--classes 8,10,17]
"""

import argparse

import numpy as np

from microaction.data.sampling import segment_indices
from microaction.labels import ACTION_NAMES
from microaction.synth.clips import render_clip
from microaction.synth.figure import Appearance
from microaction.synth.motions import MOTION_ONLY_GROUPS


def motion_energy(action_id: int, clips: int = 16, size: int = 57, length: int = 32) -> float:
    seen = segment_indices(length, 8, train=False)[0]
    energies = []
    for i in range(clips):
        rng = np.random.default_rng([action_id, i, 7])
        app = Appearance.random(np.random.default_rng(i))
        clip = render_clip(action_id, length, size, rng, app, realism=False)
        grey = clip[seen].astype(np.float32).mean(-1)
        energies.append(np.abs(grey - grey.mean(0)).sum((1, 2)).mean() / 255)
    return float(np.mean(energies))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=57, help="clip short side (the demo writes 57)")
    ap.add_argument("--clips", type=int, default=16)
    ap.add_argument("--classes", default=None, help="comma-separated ids (default: the pairs)")
    args = ap.parse_args()
    groups = ([tuple(int(c) for c in args.classes.split(","))] if args.classes
              else MOTION_ONLY_GROUPS)
    for group in groups:
        for c in group:
            print(f"{c:2d} {ACTION_NAMES[c]:<28s} {motion_energy(c, args.clips, args.size):5.1f}")
        print()


if __name__ == "__main__":
    main()
