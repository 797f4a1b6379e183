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


def test_label_space_decides_ma52_in_one_place(tmp_path):
    from microaction.errors import MicroactionError
    from microaction.labels import LabelSpace

    ma52 = LabelSpace.from_count(52)
    assert ma52.is_ma52 and ma52.names[9] == "nodding" and ma52.body_of(9) == 1
    assert ma52.body_name_of(43) == "head-hand" and len(ma52.action_to_body) == 52
    other = LabelSpace.from_count(10)
    assert not other.is_ma52 and other.action_to_body is None and other.body_of(3) is None
    assert LabelSpace.for_root(tmp_path, 52) == ma52  # no label_name.txt: built-in names
    assert LabelSpace.for_root(tmp_path, 7).names == tuple("0123456")
    labels.write_label_names(tmp_path / "label_name.txt", ["a", "b", "c"])
    assert LabelSpace.for_root(tmp_path).names == ("a", "b", "c")
    with pytest.raises(MicroactionError, match="label_name.txt: 3 class names but "
                                               "data.num_classes is 52"):
        LabelSpace.for_root(tmp_path, 52)


def test_labelled_axis_names_carry_the_class_id():
    """Plot axes and tables show "<id> <name>": the id a list file uses beside the name."""
    axis = labels.LabelSpace.ma52().labelled()
    assert len(axis) == 52 and axis[9] == "9 nodding" and axis[0].startswith("0 ")
