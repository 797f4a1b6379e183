import csv
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

from microaction.cli import main
from microaction.errors import MicroactionError
from microaction.labels import ACTION_TO_BODY
from microaction.scores import SUBMISSION_HEADER, load_scores, write_scores, write_submission


def make_list(tmp_path, labels, name="val_list_videos.txt", crlf=True):
    p = tmp_path / name
    nl = "\r\n" if crlf else "\n"
    p.write_text(nl.join(f"v{i:04d}.mp4 {y}" for i, y in enumerate(labels)) + nl)
    return p


def test_formats_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    s = rng.random((6, 52))
    write_scores(tmp_path, s, [f"v{i}.mp4" for i in range(6)])
    assert np.allclose(load_scores(tmp_path / "scores.npy"), s, atol=1e-6)
    assert np.allclose(load_scores(tmp_path / "scores.csv"), s, atol=1e-5)
    (tmp_path / "official.pkl").write_bytes(pickle.dumps([row.astype(np.float32) for row in s]))
    assert np.allclose(load_scores(tmp_path / "official.pkl"), s, atol=1e-6)


def test_hostile_pickle_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    (tmp_path / "evil.pkl").write_bytes(pickle.dumps([Evil()]))
    with pytest.raises(MicroactionError, match="refusing to load"):
        load_scores(tmp_path / "evil.pkl")
    assert not (tmp_path / "pwned").exists()


def test_submission_format(tmp_path):
    s = np.zeros((2, 52))
    s[0, [9, 10, 43, 0, 51, 7]] = [0.5, 0.2, 0.1, 0.09, 0.08, 0.01]
    s[1, [48, 49, 50, 1, 2]] = [0.9, 0.05, 0.03, 0.01, 0.005]
    write_submission(tmp_path / "submission.zip", s, ["test0000.mp4", "test0001.mp4"],
                     ACTION_TO_BODY)
    with zipfile.ZipFile(tmp_path / "submission.zip") as z:
        assert z.namelist() == ["prediction.csv"]
        rows = list(csv.reader(io.StringIO(z.read("prediction.csv").decode())))
    assert rows[0] == SUBMISSION_HEADER
    assert rows[1] == ["test0000.mp4", "9", "10", "43", "0", "51", "1", "1", "5", "0", "6"]
    assert rows[2] == ["test0001.mp4", "48", "49", "50", "1", "2", "6", "6", "6", "0", "0"]


def test_score_cli_json_and_table(tmp_path, capsys):
    labels = [9, 10, 43, 24]
    lst = make_list(tmp_path, labels)
    s = np.eye(52)[[9, 10, 41, 24]]
    np.save(tmp_path / "s.npy", s)
    assert main(["score", str(tmp_path / "s.npy"), "--list", str(lst), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["action_top1"] == 0.75 and rep["body_top1"] == 1.0
    for k in ("action_top1", "action_top5", "body_top1", "action_f1_macro", "action_f1_micro",
              "body_f1_macro", "body_f1_micro", "f1_mean"):
        assert 0.0 <= rep[k] <= 1.0
    assert main(["score", str(tmp_path / "s.npy"), "--list", str(lst)]) == 0
    assert "75.00" in capsys.readouterr().out


def test_submit_cli_accepts_official_pickle(tmp_path, capsys):
    lst = make_list(tmp_path, [0, 0, 0], name="test_list_videos.txt")
    rows = [np.eye(52)[c].astype(np.float32) for c in (3, 30, 45)]
    (tmp_path / "scores.pkl").write_bytes(pickle.dumps(rows))
    assert main(["submit", str(tmp_path / "scores.pkl"), "--list", str(lst),
                 "--out", str(tmp_path / "sub.zip")]) == 0
    with zipfile.ZipFile(tmp_path / "sub.zip") as z:
        lines = z.read("prediction.csv").decode().splitlines()
    assert lines[1].startswith("v0000.mp4,3,") and lines[3].split(",")[6] == "5"


@pytest.mark.parametrize("cmd", ["score", "submit"])
def test_row_count_mismatch_and_missing_files(tmp_path, capsys, cmd):
    lst = make_list(tmp_path, [1, 2, 3])
    np.save(tmp_path / "s.npy", np.random.default_rng(0).random((2, 52)))
    extra = ["--out", str(tmp_path / "sub.zip")] if cmd == "submit" else []
    assert main([cmd, str(tmp_path / "s.npy"), "--list", str(lst), *extra]) == 1
    err = capsys.readouterr().err
    assert "2 score rows but" in err and "has 3 videos" in err
    assert not (tmp_path / "sub.zip").exists()
    assert main([cmd, str(tmp_path / "none.npy"), "--list", str(lst), *extra]) == 1
    assert "scores file not found" in capsys.readouterr().err
    (tmp_path / "empty.txt").write_text("\n")
    np.save(tmp_path / "s3.npy", np.zeros((3, 52)))
    assert main([cmd, str(tmp_path / "s3.npy"), "--list", str(tmp_path / "empty.txt"),
                 *extra]) == 1
    assert "no entries" in capsys.readouterr().err
