import os
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

torch.set_flush_denormal(True)  # denormals made random-init backward passes 100x slower on CPU
# two threads (the CI machine's cores) unless OMP_NUM_THREADS asks for fewer, e.g. for parallel
# mutation-testing workers
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or min(2, os.cpu_count() or 1)))


def _find_shared():
    """The MA-52 reference files (official label names, class counts, the official label table
    and checkpoint layout): $MICROACTION_SHARED, else ../shared/ma52 beside the checkout, else
    /work/shared/ma52. They are not part of the repository."""
    env = os.environ.get("MICROACTION_SHARED")
    for cand in ([Path(env)] if env else []) + [
            Path(__file__).resolve().parents[2] / "shared" / "ma52", Path("/work/shared/ma52")]:
        if cand.is_dir():
            return cand
    return None


SHARED = _find_shared()
_SKIPPED_REFERENCE_TESTS = []


_SKIP_REASON = "MA-52 reference files not found (../shared/ma52 or $MICROACTION_SHARED)"


@pytest.fixture(scope="session")
def shared_ma52():
    if SHARED is None:
        if os.environ.get("MICROACTION_REQUIRE_SHARED"):
            pytest.fail("MICROACTION_REQUIRE_SHARED is set but the MA-52 reference files were "
                        "not found (set MICROACTION_SHARED=/path/to/shared/ma52)")
        pytest.skip(_SKIP_REASON)
    return SHARED


_SKIPPED_BROWSER_TESTS = []


def pytest_runtest_logreport(report):
    if report.skipped and _SKIP_REASON in str(report.longrepr):
        _SKIPPED_REFERENCE_TESTS.append(report.nodeid)
    if report.skipped and "BROWSER TESTS NOT RUN" in str(report.longrepr):
        _SKIPPED_BROWSER_TESTS.append(report.nodeid)


def pytest_terminal_summary(terminalreporter):
    if _SKIPPED_REFERENCE_TESTS:
        terminalreporter.section("REFERENCE TESTS NOT RUN", sep="!", red=True, bold=True)
        terminalreporter.line(f"{len(_SKIPPED_REFERENCE_TESTS)} tests against the official MA-52 "
                              f"files were SKIPPED: ../shared/ma52 was not found and "
                              f"$MICROACTION_SHARED is not set.", red=True)
        for nodeid in _SKIPPED_REFERENCE_TESTS:
            terminalreporter.line(f"  {nodeid}", red=True)
    if _SKIPPED_BROWSER_TESTS:
        terminalreporter.section("BROWSER TESTS NOT RUN", sep="!", red=True, bold=True)
        terminalreporter.line(f"{len(_SKIPPED_BROWSER_TESTS)} web app tests were SKIPPED: no "
                              f"chromium (apt-get install chromium; `make test` installs it "
                              f"as root).", red=True)


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory):
    """A tiny synthetic MA-52 set: 1 train / 1 val / 1 test clip per class, 64 px, 12 frames."""
    from microaction.synth.clips import generate_dataset

    root = tmp_path_factory.mktemp("synth")
    generate_dataset(root, clips_per_class=1, size=64, length=12, seed=3, progress=False)
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


def write_config(tmp_path, data_root, name="tsm_r18", **train):
    cfg = {"model": {"name": name, "clip_len": 4, "size": 32, "pretrained": None,
                     "label_embeddings": "default" if name.startswith("manet") else None},
           "data": {"root": str(data_root), "num_workers": 0},
           "train": {"epochs": 2, "batch_size": 8, "lr": 0.01, "lr_steps": [1], "log_every": 2,
                     "amp": "off", "seed": 0, **train}}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="session")
def trained(tiny_synth, tmp_path_factory):
    """A manet_r18 trained for 2 epochs on the tiny set: (folder, config path); the run is in
    folder/work."""
    from microaction.cli import main

    tmp = tmp_path_factory.mktemp("run")
    cfg = write_config(tmp, tiny_synth, "manet_r18")
    assert main(["train", str(cfg), "--work-dir", str(tmp / "work"), "-q"]) == 0
    return tmp, cfg
