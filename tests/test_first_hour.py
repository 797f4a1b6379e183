"""What a new user meets in the first hour (issue: the first hour): lists outside the data
root, errors from DataLoader workers, test views that do not fit the training, re-runs into a
used folder, placeholder labels, non-checkpoints, a data root without label_name.txt, the CLI
basics, `info`, the demo's output, predict's header, a readable confusion matrix."""

import json
import shutil
import sys

import numpy as np
import pytest
import torch
from conftest import write_config

from microaction.cli import build_parser, main
from microaction.engine.checkpoint import load_checkpoint, save_checkpoint


def one_line(err: str) -> str:
    err = err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


# ----------------------------------------------------------------------------- 1. lists, workers


def test_test_with_a_list_outside_the_data_root(trained, tiny_synth, tmp_path, capsys):
    """--list finds its videos beside it (videos_test/ next to test_list_videos_labeled.txt),
    whatever data.root says; labels of such a list are real, so metrics are printed."""
    tmp, cfg = trained
    ckpt = str(tmp / "work" / "best.pt")
    assert main(["test", str(cfg), "--checkpoint", ckpt, "--split", "test", "-q",
                 "--set", f"data.root={tmp_path / 'elsewhere'}",
                 "--list", str(tiny_synth / "test_list_videos_labeled.txt"),
                 "--out", str(tmp_path / "t0")]) == 0
    assert "f1_mean" in capsys.readouterr().out and (tmp_path / "t0" / "report.json").is_file()
    # a list in a folder of its own, videos beside it; then one whose videos are elsewhere
    own = tmp_path / "own"
    own.mkdir()
    first = (tiny_synth / "val_list_videos.txt").read_text().splitlines()[:3]
    for line in first:
        shutil.copy(tiny_synth / "videos_val" / line.split()[0], own)
    (own / "mine.txt").write_text("\n".join(first) + "\n")
    assert main(["test", str(cfg), "--checkpoint", ckpt, "--list", str(own / "mine.txt"), "-q",
                 "--out", str(tmp_path / "t1")]) == 0
    capsys.readouterr()
    lonely = tmp_path / "lonely.txt"
    lonely.write_text("\n".join(first) + "\n")
    assert main(["test", str(cfg), "--checkpoint", ckpt, "--list", str(lonely), "-q",
                 "--out", str(tmp_path / "t2")]) == 1
    err = one_line(capsys.readouterr().err)
    assert "cannot find its videos" in err and "--videos" in err
    assert main(["test", str(cfg), "--checkpoint", ckpt, "--list", str(lonely), "-q",
                 "--videos", str(tiny_synth / "videos_val"), "--out", str(tmp_path / "t2")]) == 0


def test_unreadable_clip_in_a_worker_is_one_line_and_leaves_no_work_dir(tiny_synth, tmp_path,
                                                                          capsys):
    """data.cache off (the MA-52 default), two DataLoader workers: a corrupt clip reaches the
    user as the reader's one-line error; the run's half-made work dir is removed. A missing clip
    is found before training starts, named by list file and line."""
    root = tmp_path / "data"
    shutil.copytree(tiny_synth, root)
    lines = (root / "train_list_videos.txt").read_text().splitlines()
    victim = lines[5].split()[0]
    (root / "videos_train" / victim).write_bytes(b"\x00" * 500)
    cfg = write_config(tmp_path, root, "tsm_r18", epochs=1)
    work = tmp_path / "work"
    assert main(["train", str(cfg), "--work-dir", str(work), "-q",
                 "--set", "data.num_workers=2"]) == 1
    err = one_line(capsys.readouterr().err)
    assert victim in err and "cannot decode video" in err
    assert not work.exists()
    (root / "videos_train" / victim).unlink()
    assert main(["train", str(cfg), "--work-dir", str(work), "-q"]) == 1
    err = one_line(capsys.readouterr().err)
    assert "train_list_videos.txt:6: " in err and "file not found" in err
    assert not work.exists()


# ----------------------------------------------------------------------------- 2. test views


def test_views_that_do_not_fit_the_training_are_refused(trained, tiny_synth, tmp_path, capsys):
    tmp, cfg = trained
    ck = load_checkpoint(tmp / "work" / "best.pt")
    ck["config"]["data"]["train_crop"] = "center"
    centre = tmp_path / "centre.pt"
    save_checkpoint(centre, ck)
    base = ["test", str(cfg), "--checkpoint", str(centre), "--split", "val", "-q"]
    assert main([*base, "--views", "2x3", "--out", str(tmp_path / "a")]) == 1
    err = one_line(capsys.readouterr().err)
    assert "trained on centre crops only" in err and "--force" in err
    assert not (tmp_path / "a").exists()
    assert main([*base, "--views", "2x1", "--out", str(tmp_path / "b")]) == 0
    assert main([*base, "--views", "2x3", "--force", "--out", str(tmp_path / "c")]) == 0
    assert "warning" in capsys.readouterr().err
    clip = sorted((tiny_synth / "videos_val").iterdir())[0]
    assert main(["predict", str(centre), str(clip), "--views", "1x3"]) == 1
    assert "trained on centre crops only" in capsys.readouterr().err


# ----------------------------------------------------------------------------- 3. re-runs


def test_fresh_run_into_a_used_work_dir(trained, tiny_synth, tmp_path, capsys):
    tmp, _ = trained
    work = tmp_path / "work"
    shutil.copytree(tmp / "work", work)
    cfg = write_config(tmp_path, tiny_synth, "tsm_r18", epochs=1)
    assert main(["train", str(cfg), "--work-dir", str(work), "-q"]) == 1
    err = one_line(capsys.readouterr().err)
    assert "already holds a run" in err and "--resume" in err and "--overwrite" in err
    assert load_checkpoint(work / "last.pt")["model"] == "manet_r18"  # untouched
    assert main(["train", str(cfg), "--work-dir", str(work), "-q", "--overwrite"]) == 0
    log = [json.loads(ln) for ln in (work / "log.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in log if r["kind"] == "train"]
    assert steps == sorted(set(steps))  # one run's records, not two runs interleaved
    assert sum(r["kind"] == "val" for r in log) == 1
    assert load_checkpoint(work / "last.pt")["model"] == "tsm_r18"


def test_synthetic_set_with_other_settings_is_refused(tmp_path, capsys):
    out = tmp_path / "synth"
    args = ["synth", str(out), "--clips-per-class", "1", "--size", "40", "--length", "4",
            "--splits", "val", "-q"]
    assert main(args) == 0
    before = sorted(p.name for p in (out / "videos_val").iterdir())
    assert main(args) == 0  # same settings: resumes, nothing to do
    assert main(["synth", str(out), "--clips-per-class", "1", "--size", "48", "--length", "4",
                 "--splits", "val", "-q"]) == 1
    err = one_line(capsys.readouterr().err)
    assert "made with other settings" in err and "size: 40 there, 48 asked" in err
    assert sorted(p.name for p in (out / "videos_val").iterdir()) == before
    info = json.loads((out / "synth_info.json").read_text())
    assert info["size"] == 40 and info["complete"] is True


# ----------------------------------------------------------------------------- 4-6


def test_score_warns_about_placeholder_labels(tmp_path, capsys):
    np.save(tmp_path / "s.npy", np.eye(52)[[3, 4, 5]])
    (tmp_path / "test_list_videos.txt").write_text("a.mp4 0\nb.mp4 0\nc.mp4 0\n")
    assert main(["score", str(tmp_path / "s.npy"), "--list",
                 str(tmp_path / "test_list_videos.txt")]) == 0
    assert "placeholders" in capsys.readouterr().err
    (tmp_path / "real.txt").write_text("a.mp4 3\nb.mp4 4\nc.mp4 0\n")
    assert main(["score", str(tmp_path / "s.npy"), "--list", str(tmp_path / "real.txt")]) == 0
    assert "placeholders" not in capsys.readouterr().err


def test_files_that_are_not_checkpoints(tmp_path, tiny_synth, capsys):
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    torch.save({"state_dict": {"backbone.conv1.conv.weight": torch.zeros(1)}}, tmp_path / "mm.pth")

    class Evil:
        def __reduce__(self):
            return (print, ("ran",))

    import pickle

    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"x": Evil()}))
    clip = str(sorted((tiny_synth / "videos_val").iterdir())[0])
    for name, extra in (("junk.pt", ""), ("mm.pth", "microaction convert"), ("evil.pt", "")):
        assert main(["predict", str(tmp_path / name), clip]) == 1
        err = one_line(capsys.readouterr().err)
        assert "not a microaction checkpoint" in err and extra in err
        assert "weights_only=False" not in err and "ran" not in capsys.readouterr().out


def test_check_without_label_names_uses_the_ma52_names(tiny_synth, tmp_path, capsys):
    root = tmp_path / "ma52"
    shutil.copytree(tiny_synth, root)
    (root / "label_name.txt").unlink()
    assert main(["check", str(root), "-q", "--no-decode"]) == 0
    out = capsys.readouterr().out
    assert "label_name.txt not found: using the built-in MA-52 class names" in out
    assert "nodding" in out and "OK: 156 clips" in out


# ----------------------------------------------------------------------------- 7. CLI basics


def test_version_and_every_help(capsys):
    with pytest.raises(SystemExit) as code:
        main(["--version"])
    assert code.value.code == 0 and capsys.readouterr().out.startswith("microaction 0.")
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices
    assert {"synth", "check", "prepare", "contact-sheet", "models", "info", "embed-labels",
            "train", "test", "score", "submit", "predict", "demo"} <= set(verbs)
    for name, sub in verbs.items():
        text = sub.format_help()
        assert sub.description, name
        assert "example:\n  microaction " + name in text, name
        for action in sub._actions:
            if not action.option_strings:
                assert action.help, (name, action.dest)  # every positional explained
    assert "(default: 10)" in verbs["synth"].format_help()


def test_models_are_listed_in_natural_order(capsys):
    from microaction.models import list_models

    names = list_models()
    assert names.index("tsm_r18") < names.index("tsm_r34") < names.index("tsm_r50") < \
        names.index("tsm_r101")


def test_test_split_says_why_there_are_no_metrics(trained, tmp_path, capsys):
    tmp, cfg = trained
    assert main(["test", str(cfg), "--checkpoint", str(tmp / "work" / "best.pt"), "--split",
                 "test", "-q", "--out", str(tmp_path / "t")]) == 0
    out = capsys.readouterr().out
    assert "no metrics" in out and "placeholder labels" in out
    assert not (tmp_path / "t" / "report.json").exists()


# ----------------------------------------------------------------------------- 8. info


def test_info_and_best_checkpoint_without_optimizer(trained, capsys):
    tmp, _ = trained
    best, last = tmp / "work" / "best.pt", tmp / "work" / "last.pt"
    assert "optimizer" not in load_checkpoint(best) and "optimizer" in load_checkpoint(last)
    assert best.stat().st_size < 0.6 * last.stat().st_size
    assert main(["info", str(best)]) == 0
    out = capsys.readouterr().out
    best_epoch = load_checkpoint(best)["metrics"]["epoch"]
    for fragment in ("model       manet_r18", "segment sampling, 4 frames", "classes     52 (MA-52",
                     "SYNTHETIC data", f"epoch       {best_epoch} of 2", "resumable   no",
                     f"metrics (validation, epoch {best_epoch})", "f1_mean"):
        assert fragment in out, fragment
    assert main(["info", str(best), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["model"] == "manet_r18" and "state_dict" not in doc


# ----------------------------------------------------------------------------- 9-11


def test_progress_off_a_terminal_is_one_line(capsys):
    from microaction.progress import progress_bar

    assert not sys.stderr.isatty()
    with progress_bar(total=200, desc="epoch 1/3") as bar:
        for _ in range(200):
            bar.update()
            bar.set_postfix(loss="1.0")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "epoch 1/3: 200/200 its" in err and "loss=1.0" in err


def test_predict_says_what_the_model_was_trained_on(trained, tiny_synth, capsys):
    tmp, _ = trained
    clip = sorted((tiny_synth / "videos_val").iterdir())[0]
    assert main(["predict", str(tmp / "work" / "best.pt"), str(clip)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith("manet_r18") and "trained on SYNTHETIC data" in header
    assert "not meaningful" in header


def test_confusion_matrix_is_readable(tmp_path):
    from PIL import Image

    from microaction.labels import LabelSpace
    from microaction.plots import confusion_matrix_png

    names = LabelSpace.ma52().labelled()
    confusion_matrix_png(np.eye(52, dtype=int), names, tmp_path / "cm.png", "action confusion")
    w, h = Image.open(tmp_path / "cm.png").size
    assert w >= 1800 and h >= 1800  # ~14 px labels for 52 classes (was ~5 px at 1,000 px)
