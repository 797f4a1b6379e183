"""The package's import rules (README, "Layout"): a module imports only from its own layer or
the layers below, plus a few forbidden pairs inside layer 1. Lazy imports inside functions count
too. Parsed with ast, so nothing is executed."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import microaction

# the package as imported (the checkout's src/, or a copy on PYTHONPATH)
SRC = Path(microaction.__file__).resolve().parent

LAYERS = {
    0: {"errors", "spec", "io", "labels", "progress", "__init__"},
    1: {"data", "synth", "models", "losses", "label_embeddings", "metrics", "scores", "plots",
        "config"},
    2: {"engine"},
    3: {"inference", "convert"},
    4: {"timeline", "explain", "export"},
    5: {"emotion"},
    6: {"web"},
    7: {"cli", "__main__"},
}
LAYER_OF = {room: layer for layer, rooms in LAYERS.items() for room in rooms}
# inside layer 1: the model code and the data code know nothing of each other or of the
# synthetic world; the synthetic world writes files the data layer reads
FORBIDDEN = {("models", "data"), ("models", "synth"), ("data", "models"), ("data", "synth"),
             ("synth", "models"), ("metrics", "models"), ("scores", "models")}


def room_of(path: Path, src: Path = SRC) -> str:
    return path.relative_to(src).parts[0].removesuffix(".py")


def imported_rooms(path: Path, src: Path = SRC):
    """(line, room) of every ``microaction.*`` import in a file (``from microaction import X``:
    room X when X is a module, else the package's ``__init__``)."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "microaction":
                names = [f"microaction.{a.name}" if (src / a.name).is_dir() or
                         (src / f"{a.name}.py").is_file() else "microaction.__init__"
                         for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "microaction" and len(parts) > 1:
                yield node.lineno, parts[1]


def violations(src: Path = SRC) -> list[str]:
    found = []
    for path in sorted(src.rglob("*.py")):
        room = room_of(path, src)
        if room not in LAYER_OF:
            found.append(f"{path}: room {room!r} has no layer (add it to LAYERS and the README)")
            continue
        for line, other in imported_rooms(path, src):
            if other == room:
                continue
            if other not in LAYER_OF:
                found.append(f"{path}:{line}: imports unknown room {other!r}")
            elif LAYER_OF[other] > LAYER_OF[room]:
                found.append(f"{path}:{line}: {room} (layer {LAYER_OF[room]}) imports {other} "
                             f"(layer {LAYER_OF[other]})")
            elif (room, other) in FORBIDDEN:
                found.append(f"{path}:{line}: {room} must not import {other}")
    return found


def test_imports_flow_down_the_layers():
    assert violations() == []


def test_the_check_catches_an_upward_import(tmp_path):
    """Plant the bug once: a model module importing the engine, a data module importing the
    synthetic world."""
    import shutil

    copy = tmp_path / "microaction"
    shutil.copytree(SRC, copy)
    with open(copy / "models" / "layers.py", "a") as f:
        f.write("\n\ndef _planted():\n    from microaction.engine import loop  # noqa\n")
    with open(copy / "data" / "sampling.py", "a") as f:
        f.write("\nimport microaction.synth.figure  # noqa\n")
    found = violations(copy)
    assert any("models (layer 1) imports engine (layer 2)" in v for v in found)
    assert any("data must not import synth" in v for v in found)


@pytest.mark.parametrize("verb", ["score", "submit"])
def test_score_and_submit_do_not_import_torch(verb, tmp_path):
    import numpy as np

    np.save(tmp_path / "s.npy", np.eye(52)[[9, 10, 43, 24, 0]])
    (tmp_path / "l.txt").write_text("".join(f"v{i}.mp4 {c}\n" for i, c in
                                            enumerate([9, 10, 43, 24, 1])))
    extra = ["--out", str(tmp_path / "s.zip")] if verb == "submit" else []
    code = ("import sys\nfrom microaction.cli import main\n"
            f"rc = main({[verb, str(tmp_path / 's.npy'), '--list', str(tmp_path / 'l.txt'), *extra]!r})\n"
            "assert rc == 0, rc\n"
            "heavy = sorted(m for m in ('torch', 'torchvision', 'av') if m in sys.modules)\n"
            "print('heavy:', heavy)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "heavy: []" in res.stdout
