"""The one atomic writer: a failed write keeps the previous file and leaves no temporary."""

import json

import numpy as np
import pytest

from microaction.io import atomic_path, atomic_write, save_npy, write_json, write_text


class Boom(Exception):
    pass


def test_failure_mid_write_keeps_previous_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.json"
    write_json(target, {"version": 1})
    with pytest.raises(Boom):
        with atomic_write(target) as f:
            f.write('{"version": 2, "half')  # half written, then the writer dies
            raise Boom
    assert json.loads(target.read_text()) == {"version": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_binary_and_path_writers(tmp_path):
    save_npy(tmp_path / "a.npy", np.arange(3))
    assert np.load(tmp_path / "a.npy").tolist() == [0, 1, 2]
    with pytest.raises(Boom):
        with atomic_path(tmp_path / "a.npy") as tmp:
            tmp.write_bytes(b"junk")
            raise Boom
    assert np.load(tmp_path / "a.npy").tolist() == [0, 1, 2]
    write_text(tmp_path / "sub" / "x.txt", "hi")  # parents are created
    assert (tmp_path / "sub" / "x.txt").read_text() == "hi"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "sub"]


def test_checkpoint_and_scores_writers_are_atomic(tmp_path, monkeypatch):
    """The project's writers go through the atomic writer: a failing serialiser leaves the old
    checkpoint and score files as they were."""
    import torch

    from microaction.engine.checkpoint import load_checkpoint, save_checkpoint
    from microaction.scores import write_scores

    save_checkpoint(tmp_path / "last.pt", {"epoch": 1})
    write_scores(tmp_path, np.ones((2, 3)), ["a", "b"])
    before = (tmp_path / "scores.csv").read_text()

    def broken_save(obj, f, *a, **k):
        f.write(b"PK\x03\x04 partial")
        raise Boom

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(Boom):
        save_checkpoint(tmp_path / "last.pt", {"epoch": 2})
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 1

    import microaction.scores as scores_module

    monkeypatch.setattr(scores_module, "save_npy", lambda *a: (_ for _ in ()).throw(Boom()))
    with pytest.raises(Boom):
        write_scores(tmp_path, np.zeros((2, 3)), ["a", "b"])
    assert (tmp_path / "scores.csv").read_text() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
