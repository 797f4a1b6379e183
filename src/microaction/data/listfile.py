"""MA-52 list files: ``<file>.mp4 <action_id>`` (or ``<file> <num_frames> <action_id>``) per line.

Official layout under a data root::

    videos_train/ videos_val/ videos_test/
    train_list_videos.txt val_list_videos.txt test_list_videos.txt label_name.txt
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from microaction.errors import ListFileError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class ListEntry:
    path: str  # as written in the list file (relative to the split's video folder)
    label: int
    line: int = 0  # 1-based line number in the list file


def split_files(root: str | Path, split: str) -> tuple[Path, Path]:
    """(list file, video folder) of an official split under ``root``."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    root = Path(root)
    return root / f"{split}_list_videos.txt", root / f"videos_{split}"


def parse_list_file(path: str | Path, num_classes: int | None = 52,
                    allow_empty: bool = False, problems: list | None = None) -> list[ListEntry]:
    """Parse a list file; malformed lines, label ids outside ``[0, num_classes)`` and duplicate
    files raise :class:`ListFileError` with the file and line number. Blank lines and Windows
    line endings are accepted. With a ``problems`` list, bad lines are appended to it as
    ListFileErrors and skipped instead (to report every problem at once)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ListFileError(path, None, "list file not found") from None
    except IsADirectoryError:
        raise ListFileError(path, None, "is a directory, not a list file") from None
    except OSError as exc:
        raise ListFileError(path, None, f"cannot read list file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ListFileError(path, None, "not a text file") from None

    entries: list[ListEntry] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        try:
            entry = _parse_line(path, lineno, raw, num_classes, seen)
        except ListFileError as exc:
            if problems is None:
                raise
            problems.append(exc)
            continue
        if entry is not None:
            entries.append(entry)
    if not entries and not allow_empty:
        raise ListFileError(path, None, "list file has no entries")
    return entries


def _parse_line(path, lineno, raw, num_classes, seen) -> ListEntry | None:
    tokens = raw.split()
    if not tokens:
        return None
    if len(tokens) == 2 and _is_int(tokens[1]):
        file, label = tokens[0], int(tokens[1])
    elif len(tokens) == 3 and _is_int(tokens[1]) and _is_int(tokens[2]):  # mmaction's rawframes
        file, label = tokens[0], int(tokens[2])  # layout: the frame count is not needed
    else:
        raise ListFileError(path, lineno, f"expected '<file> <label>' or "
                            f"'<file> <num_frames> <label>', got {raw.strip()!r}")
    if label < 0 or (num_classes is not None and label >= num_classes):
        limit = f"0..{num_classes - 1}" if num_classes is not None else ">= 0"
        raise ListFileError(path, lineno, f"label {label} of {file} is outside {limit}")
    if file in seen:
        raise ListFileError(path, lineno, f"duplicate entry {file} (first on line {seen[file]})")
    seen[file] = lineno
    return ListEntry(file, label, lineno)


def placeholder_labels(entries) -> bool:
    """Every label 0 over several videos: the official test list's dummy labels, not ground
    truth (metrics against them are meaningless)."""
    return len(entries) > 1 and all(e.label == 0 for e in entries)


def write_list_file(path: str | Path, entries) -> None:
    """Write ``(file, label)`` pairs in the official two-column format, atomically."""
    from microaction.io import write_text

    write_text(path, "".join(f"{f} {int(lab)}\n" for f, lab in entries))


def _is_int(token: str) -> bool:
    return token.lstrip("-").isdigit()
