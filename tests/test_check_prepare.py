import shutil

from microaction.cli import main
from microaction.data.prepare import prepare_dataset
from microaction.data.video import probe_video


def copy_set(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_check_ok_prints_tables(tiny_synth, capsys):
    assert main(["check", str(tiny_synth), "-q"]) == 0
    out = capsys.readouterr().out
    assert "nodding" in out and "head-hand" in out and "OK: 156 clips" in out


def test_check_reports_every_problem(tiny_synth, tmp_path, capsys):
    root = copy_set(tiny_synth, tmp_path / "ds")
    lst = root / "train_list_videos.txt"
    lines = lst.read_text().splitlines()
    victims = [lines[0].split()[0], lines[1].split()[0]]
    (root / "videos_train" / victims[0]).unlink()
    (root / "videos_train" / victims[1]).write_bytes(b"garbage")
    lines += ["weird line here", "x.mp4 77"]
    lst.write_text("\r\n".join(lines) + "\r\n")
    assert main(["check", str(root), "-q"]) == 1
    out = capsys.readouterr().out
    assert "4 problem(s)" in out
    assert f"{victims[0]}: file not found" in out and victims[1] in out
    assert "train_list_videos.txt:53:" in out and "label 77 of x.mp4" in out


def test_check_missing_root_and_lists(tmp_path, capsys):
    assert main(["check", str(tmp_path / "none")]) == 1
    assert "not a directory" in capsys.readouterr().err
    assert main(["check", str(tmp_path), "-q"]) == 1
    assert "no list file" in capsys.readouterr().out


def test_prepare_shrinks_resumes_and_reports_failures(tiny_synth, tmp_path, capsys):
    src = copy_set(tiny_synth, tmp_path / "src")
    bad = (src / "val_list_videos.txt").read_text().split()[0]
    (src / "videos_val" / bad).write_bytes(b"not a video")
    dst = tmp_path / "dst"
    assert main(["prepare", str(src), str(dst), "--short-side", "32", "-q", "--workers", "2"]) == 1
    out = capsys.readouterr().out
    assert "155 written" in out and "1 failed" in out and bad in out
    assert not (dst / "videos_val" / bad).exists()  # nothing half-written
    n, fps, w, h = probe_video(dst / "videos_train" / sorted(
        p.name for p in (dst / "videos_train").iterdir())[0])
    assert (n, w) == (12, 32) and h == 38
    assert (dst / "train_list_videos.txt").read_text() == (src / "train_list_videos.txt").read_text()
    assert not list(dst.rglob("*.part"))
    report = prepare_dataset(src, dst, 32, progress=False)
    assert report.written == 0 and report.skipped == 155 and len(report.failed) == 1
