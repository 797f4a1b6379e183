import pytest

from microaction.data.listfile import parse_list_file, split_files
from microaction.errors import ListFileError


def write(tmp_path, text, name="train_list_videos.txt"):
    p = tmp_path / name
    p.write_bytes(text.encode())
    return p


def test_two_and_three_columns_crlf_and_blank_lines(tmp_path):
    p = write(tmp_path, "0003_01_0001.mp4 9\r\n\r\nb.mp4 60 51\r\n  \n")
    entries = parse_list_file(p)
    assert [(e.path, e.label, e.line) for e in entries] == [
        ("0003_01_0001.mp4", 9, 1), ("b.mp4", 51, 3)]


@pytest.mark.parametrize("text, line, fragment", [
    ("a.mp4 1\nb.mp4\n", 2, "expected '<file> <label>'"),
    ("a.mp4 x\n", 1, "expected"),
    ("a.mp4 1\nb.mp4 52\n", 2, "label 52 of b.mp4 is outside 0..51"),
    ("a.mp4 -1\n", 1, "outside"),
    ("a.mp4 1\nb.mp4 2\na.mp4 3\n", 3, "duplicate entry a.mp4 (first on line 1)"),
])
def test_bad_lines_name_file_and_line(tmp_path, text, line, fragment):
    p = write(tmp_path, text)
    with pytest.raises(ListFileError) as err:
        parse_list_file(p)
    assert f"train_list_videos.txt:{line}:" in str(err.value)
    assert fragment in str(err.value)


def test_empty_and_missing(tmp_path):
    with pytest.raises(ListFileError, match="no entries"):
        parse_list_file(write(tmp_path, "\n\n"))
    with pytest.raises(ListFileError, match="not found"):
        parse_list_file(tmp_path / "nope.txt")


def test_collects_every_problem(tmp_path):
    p = write(tmp_path, "a.mp4 1\nbad\nb.mp4 99\nc.mp4 2\n")
    problems = []
    entries = parse_list_file(p, problems=problems)
    assert [e.path for e in entries] == ["a.mp4", "c.mp4"]
    assert [e.line for e in problems] == [2, 3]


def test_split_files_layout(tmp_path):
    lst, vids = split_files(tmp_path, "val")
    assert lst.name == "val_list_videos.txt" and vids.name == "videos_val"
    with pytest.raises(ValueError):
        split_files(tmp_path, "dev")
