import pytest

from microaction import labels
from microaction.errors import ListFileError


def test_names_match_official_label_file(shared_ma52):
    official = labels.read_label_names(shared_ma52 / "label_names.txt")
    assert tuple(official) == labels.ACTION_NAMES


def test_body_map_matches_official_ranges(shared_ma52):
    rows = (shared_ma52 / "body_parts.tsv").read_text().splitlines()[1:]
    for row in rows:
        body_id, name, ids = row.split("\t")
        lo, hi = map(int, ids.split("-"))
        assert labels.BODY_NAMES[int(body_id)] == name
        assert list(labels.actions_of_body(int(body_id))) == list(range(lo, hi + 1))
        assert all(labels.body_of(a) == int(body_id) for a in range(lo, hi + 1))


def test_class_counts_match_official(shared_ma52):
    rows = [r.split("\t") for r in (shared_ma52 / "class_counts.tsv").read_text().splitlines()[1:]]
    assert [int(r[3]) for r in rows] == list(labels.MA52_TRAIN_COUNTS)
    assert [int(r[4]) for r in rows] == list(labels.MA52_VAL_COUNTS)
    assert [int(r[1]) for r in rows] == list(labels.ACTION_TO_BODY)
    assert sum(labels.MA52_TRAIN_COUNTS) == 11250 and sum(labels.MA52_VAL_COUNTS) == 5586


def test_body_of_rejects_out_of_range():
    with pytest.raises(ValueError, match="52"):
        labels.body_of(52)


def test_read_label_names_reports_line(tmp_path):
    f = tmp_path / "label_name.txt"
    f.write_text("0\tshaking body\r\n2\tshrugging\r\n")
    with pytest.raises(ListFileError, match=r"label_name.txt:2: expected id 1"):
        labels.read_label_names(f)
