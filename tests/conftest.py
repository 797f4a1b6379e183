import os
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_flush_denormal(True)  # denormals made random-init backward passes 100x slower on CPU
torch.set_num_threads(min(2, os.cpu_count() or 1))

SHARED = Path(__file__).resolve().parents[2] / "shared" / "ma52"


@pytest.fixture(scope="session")
def shared_ma52():
    if not SHARED.is_dir():
        pytest.skip("../shared/ma52 (reference files) not present")
    return SHARED


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory):
    """A tiny synthetic MA-52 set: 1 train / 1 val / 1 test clip per class, 64 px, 12 frames."""
    from microaction.data.synthetic import generate_dataset

    root = tmp_path_factory.mktemp("synth")
    generate_dataset(root, clips_per_class=1, size=64, frames=12, seed=3, progress=False)
    return root


def write_clip(path, frames=12, size=(48, 40), seed=0, **kw):
    """A small mp4 whose frame i encodes i in its brightness (to check which frames come back)."""
    from microaction.data.video import write_video

    h, w = size
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 40, (h, w, 3)).astype(np.uint8)
    arr = np.stack([np.clip(base.astype(int) + 6 * i, 0, 255).astype(np.uint8) for i in range(frames)])
    write_video(path, arr, **kw)
    return arr
