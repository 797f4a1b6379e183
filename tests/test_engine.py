"""End-to-end engine tests on the tiny synthetic set: train, checkpoints, test, predict, resume,
DDP with gloo, and the bad inputs users hit."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_config

from microaction.cli import main
from microaction.engine.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def test_training_outputs(trained):
    tmp, _ = trained
    work = tmp / "work"
    for name in ("last.pt", "best.pt", "config.yaml", "log.jsonl", "curves.png", "ranks.json"):
        assert (work / name).is_file(), name
    assert any((work / "tensorboard").iterdir())
    ckpt = torch.load(work / "best.pt", map_location="cpu", weights_only=True)
    assert ckpt["model"] == "manet_r18" and ckpt["model_kwargs"]["embed_dim"] == 384
    assert ckpt["class_names"][9] == "nodding" and ckpt["input_spec"]["size"] == 32
    assert ckpt["config"]["train"]["epochs"] == 2 and ckpt["metrics"]["num_videos"] == 52
    assert np.sum(ckpt["metrics"]["action_confusion"]) == 52
    log = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    assert {r["kind"] for r in log} == {"train", "val", "epoch"}
    assert sum(r["kind"] == "val" for r in log) == 2
    assert load_checkpoint(work / "last.pt")["progress"]["epoch"] == 2
    assert not list(work.glob(".*part"))


def test_test_command_writes_scores_and_report(trained, tiny_synth, capsys):
    tmp, cfg = trained
    # the metrics best.pt carries are those of its own weights on val (1 clip x 1 crop)
    assert main(["test", str(cfg), "--checkpoint", str(tmp / "work" / "best.pt"), "--split",
                 "val", "-q", "--out", str(tmp / "eval1")]) == 0
    rep1 = json.loads((tmp / "eval1" / "report.json").read_text())
    best = load_checkpoint(tmp / "work" / "best.pt")["metrics"]
    assert rep1["f1_mean"] == pytest.approx(best["f1_mean"], abs=1e-6)
    assert rep1["action_confusion"] == best["action_confusion"]
    out = tmp / "eval"
    assert main(["test", str(cfg), "--checkpoint", str(tmp / "work" / "best.pt"),
                 "--split", "val", "--views", "2x3", "--out", str(out), "-q"]) == 0
    scores = np.load(out / "scores.npy")
    assert scores.shape == (52, 52) and np.allclose(scores.sum(1), 1, atol=1e-4)
    lines = (out / "scores.csv").read_text().splitlines()
    listed = [ln.split()[0] for ln in (tiny_synth / "val_list_videos.txt").read_text().splitlines()]
    assert [ln.split(",")[0] for ln in lines[1:]] == listed
    rep = json.loads((out / "report.json").read_text())
    assert rep["num_videos"] == 52 and (out / "confusion_action.png").is_file()
    assert "f1_mean" in capsys.readouterr().out
    assert main(["score", str(out / "scores.csv"), "--list",
                 str(tiny_synth / "val_list_videos.txt"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["f1_mean"] == pytest.approx(rep["f1_mean"], 1e-5)
    test_out = tmp / "test_split"
    assert main(["test", str(cfg), "--checkpoint", str(tmp / "work" / "best.pt"),
                 "--split", "test", "--out", str(test_out), "-q"]) == 0
    assert not (test_out / "report.json").exists()  # dummy test labels: no metrics
    assert main(["submit", str(test_out / "scores.npy"), "--list",
                 str(tiny_synth / "test_list_videos.txt"), "--out", str(tmp / "s.zip")]) == 0


def test_predict_json_and_bad_video(trained, tiny_synth, tmp_path, capsys):
    tmp, _ = trained
    good = sorted((tiny_synth / "videos_test").iterdir())[:2]
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"nope")
    code = main(["predict", str(tmp / "work" / "best.pt"), str(good[0]), str(bad), str(good[1]),
                 "--json", "--topk", "3"])
    captured = capsys.readouterr()
    assert code == 1 and "broken.mp4" in captured.err
    doc = json.loads(captured.out)
    assert doc["model"] == "manet_r18" and doc["training_data"]["synthetic"] is True
    assert "SYNTHETIC" in doc["training"]
    res = doc["results"]
    assert [Path(r["video"]).name for r in res] == [good[0].name, "broken.mp4", good[1].name]
    assert len(res[0]["top"]) == 3 and "error" in res[1]
    probs = [t["prob"] for t in res[2]["top"]]
    assert probs == sorted(probs, reverse=True) and res[2]["top"][0]["body"]
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(tmp / "work" / "best.pt"), str(good[0]), "--topk", "0"])
    assert exit_info.value.code == 2
    assert "--topk: expected a positive integer, got '0'" in capsys.readouterr().err


def test_bad_inputs_are_one_line_errors(trained, tiny_synth, tmp_path, capsys):
    tmp, cfg = trained
    ckpt = str(tmp / "work" / "best.pt")
    cases = [
        (["test", str(cfg), "--checkpoint", str(tmp_path / "no.pt"), "--out", str(tmp_path / "o")],
         "checkpoint not found"),
        (["predict", str(tmp_path / "no.pt"), "x.mp4"], "checkpoint not found"),
        (["train", str(cfg), "--set", f"data.root={tmp_path / 'nodata'}", "--work-dir",
          str(tmp_path / "w")], "list file not found"),
        (["test", str(cfg), "--checkpoint", ckpt, "--list", str(tmp_path / "labels99.txt"),
          "--out", str(tmp_path / "o")], "label 60 of a.mp4 is outside 0..51"),
        (["test", str(cfg), "--checkpoint", ckpt, "--list", str(tmp_path / "empty.txt"),
          "--out", str(tmp_path / "o")], "no entries"),
        (["train", str(cfg), "--resume", "--work-dir", str(tmp_path / "fresh")],
         "nothing to resume"),
    ]
    (tmp_path / "labels99.txt").write_text("a.mp4 60\n")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    cases.append((["predict", str(tmp_path / "junk.pt"), "x.mp4"], "not a microaction checkpoint"))
    for argv, fragment in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err.strip()
        assert fragment in err and err.count("\n") == 0, (argv, err)
    assert not (tmp_path / "o").exists() and not (tmp_path / "w").exists()


def test_checkpoint_for_other_class_count(trained, tiny_synth, tmp_path, capsys):
    tmp, cfg = trained
    other = write_config(tmp_path, tiny_synth, "tsm_r18")
    assert main(["train", str(other), "--set", "data.num_classes=60", "--set", "train.epochs=1",
                 "--work-dir", str(tmp_path / "w60"), "-q"]) == 1
    assert "label_name.txt: 52 class names but data.num_classes is 60" in capsys.readouterr().err
    assert main(["train", str(cfg), "--set", "data.num_classes=60", "--work-dir",
                 str(tmp_path / "w60"), "-q"]) == 1  # MANet's label table has 52 rows
    assert "expected (60, D) for 60 classes" in capsys.readouterr().err
    import shutil

    work = tmp_path / "resume52"
    shutil.copytree(tmp / "work", work)
    ck = load_checkpoint(work / "last.pt")
    from microaction.engine.checkpoint import save_checkpoint

    ck["state_dict"]["fc.weight"] = ck["state_dict"]["fc.weight"][:10]
    ck["state_dict"]["fc.bias"] = ck["state_dict"]["fc.bias"][:10]
    save_checkpoint(work / "last.pt", ck)
    assert main(["train", str(cfg), "--resume", "--work-dir", str(work), "-q"]) == 1
    assert "has 10 classes but the model has 52" in capsys.readouterr().err


def test_cached_training_equals_decoding_training(tiny_synth, tmp_path):
    """data.cache (frames kept in RAM, main-process loading) trains to the same weights."""
    cfg = write_config(tmp_path, tiny_synth, "tsm_r18", epochs=1)
    for name, extra in (("plain", ["--set", "data.num_workers=2"]),
                        ("cached", ["--set", "data.cache=true"])):
        assert main(["train", str(cfg), "--work-dir", str(tmp_path / name), "-q", *extra]) == 0
    a = load_checkpoint(tmp_path / "plain" / "last.pt")["state_dict"]
    b = load_checkpoint(tmp_path / "cached" / "last.pt")["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert load_checkpoint(tmp_path / "cached" / "last.pt")["config"]["data"]["cache"] is True
