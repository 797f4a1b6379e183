"""The label space: class names and, for MA-52, the body part of each action.

MA-52 has 52 micro-action classes in official id order and 7 body parts; the body label is a
function of the action label. ``LabelSpace`` is the one place that decides whether a set of
classes is MA-52 (and so has body parts): every command and metric asks it.

A leaf module: it imports nothing of ours except the error type and the atomic writer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from microaction.errors import ListFileError, MicroactionError
from microaction.io import write_text

log = logging.getLogger(__name__)

ACTION_NAMES: tuple[str, ...] = (
    "shaking body", "sitting straightly", "shrugging", "turning around", "rising up",
    "bowing head", "head up", "tilting head", "turning head", "nodding", "shaking head",
    "scratching arms", "playing objects", "putting hands together", "rubbing hands",
    "pointing oneself", "clenching fist", "stretching arms", "retracting arms", "waving",
    "spreading hands", "hands touching fingers", "other finger movements",
    "illustrative gestures",
    "shaking legs", "curling legs", "spread legs", "closing legs", "crossing legs",
    "stretching feet", "retracting feet", "tiptoe",
    "scratching or touching neck", "scratching or touching chest",
    "scratching or touching back", "scratching or touching shoulder", "arms akimbo",
    "crossing arms",
    "playing or tidying hair", "scratching or touching hindbrain",
    "scratching or touching forehead", "scratching or touching face", "rubbing eyes",
    "touching nose", "touching ears", "covering face", "covering mouth", "pushing glasses",
    "patting legs", "touching legs", "scratching legs", "scratching feet",
)

BODY_NAMES: tuple[str, ...] = (
    "body", "head", "upper limb", "lower limb", "body-hand", "head-hand", "leg-hand",
)

# First action id of each body part; body b covers [_BODY_START[b], _BODY_START[b + 1]).
_BODY_START = (0, 5, 11, 24, 32, 38, 48, 52)

ACTION_TO_BODY: tuple[int, ...] = tuple(
    b for b in range(len(BODY_NAMES)) for _ in range(_BODY_START[b], _BODY_START[b + 1])
)

NUM_ACTIONS = len(ACTION_NAMES)
BACKGROUND = "no action"  # the extra class of detectors trained on windows of long videos


def body_of(action_id: int) -> int:
    """Body-part id of an MA-52 action id."""
    if not 0 <= action_id < NUM_ACTIONS:
        raise ValueError(f"action id {action_id} is outside 0..{NUM_ACTIONS - 1}")
    return ACTION_TO_BODY[action_id]


def actions_of_body(body_id: int) -> range:
    """The action ids belonging to one body part."""
    return range(_BODY_START[body_id], _BODY_START[body_id + 1])


def read_label_names(path: str | Path) -> list[str]:
    """Read an official ``label_name.txt`` (``id<TAB>name`` per line, ids 0..K-1 in order)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ListFileError(path, None, f"cannot read label names ({exc.strerror})") from None
    names: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or not parts[0].isdigit():
            raise ListFileError(path, lineno, f"expected '<id><TAB><name>', got {raw!r}")
        if int(parts[0]) != len(names):
            raise ListFileError(path, lineno, f"expected id {len(names)}, got {parts[0]}")
        names.append(parts[1].strip())
    if not names:
        raise ListFileError(path, None, "no label names")
    return names


def write_label_names(path: str | Path, names=ACTION_NAMES) -> None:
    write_text(path, "".join(f"{i}\t{n}\n" for i, n in enumerate(names)))


@dataclass(frozen=True)
class LabelSpace:
    """Class names in id order, and -- for MA-52's 52 classes -- the action -> body map.

    A label set of 52 classes is taken to be MA-52 (its body parts are id ranges, so names that
    differ, e.g. translated ones, keep them); any other count has no body level, and the body
    metrics are left out rather than faked."""

    names: tuple[str, ...]

    @classmethod
    def ma52(cls, background: bool = False) -> "LabelSpace":
        """MA-52's 52 classes; with ``background``, a 53rd "no action" class (class 52, body
        part 7 "no action"), for detectors trained on windows of long videos."""
        return cls(ACTION_NAMES + ((BACKGROUND,) if background else ()))

    @classmethod
    def from_count(cls, num_classes: int) -> "LabelSpace":
        if num_classes < 1:
            raise MicroactionError(f"a label space needs at least one class, got {num_classes}")
        if num_classes == NUM_ACTIONS:
            return cls.ma52()
        return cls(tuple(str(i) for i in range(num_classes)))

    @classmethod
    def from_names(cls, names) -> "LabelSpace":
        return cls(tuple(str(n) for n in names))

    @classmethod
    def for_root(cls, root: str | Path, num_classes: int | None = None) -> "LabelSpace":
        """A data root's ``label_name.txt``; without one, the built-in MA-52 names when there are
        52 classes (said in the log), else numbered classes. A file whose class count differs
        from ``num_classes`` is an error naming the file."""
        path = Path(root) / "label_name.txt"
        if path.is_file():
            space = cls.from_names(read_label_names(path))
            if num_classes is not None and len(space) != num_classes:
                raise MicroactionError(f"{path}: {len(space)} class names but data.num_classes "
                                       f"is {num_classes}")
            return space
        count = NUM_ACTIONS if num_classes is None else num_classes
        if count == NUM_ACTIONS:
            log.info("%s not found: using the built-in MA-52 class names", path)
        return cls.from_count(count)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def background(self) -> int | None:
        """The id of the "no action" class (MA-52 + background), or None."""
        return NUM_ACTIONS if len(self.names) == NUM_ACTIONS + 1 and \
            self.names[NUM_ACTIONS] == BACKGROUND else None

    @property
    def is_ma52(self) -> bool:
        """MA-52's actions (and body parts), with or without a background class."""
        return len(self.names) == NUM_ACTIONS or self.background is not None

    @property
    def action_to_body(self) -> tuple[int, ...] | None:
        """Body id of each action id, or None where the label set has no body level."""
        if not self.is_ma52:
            return None
        return ACTION_TO_BODY + ((len(BODY_NAMES),) if self.background is not None else ())

    @property
    def body_names(self) -> tuple[str, ...] | None:
        if not self.is_ma52:
            return None
        return BODY_NAMES + ((BACKGROUND,) if self.background is not None else ())

    def body_of(self, action_id: int) -> int | None:
        return self.action_to_body[action_id] if self.is_ma52 else None

    def body_name_of(self, action_id: int) -> str | None:
        return self.body_names[self.body_of(action_id)] if self.is_ma52 else None

    def labelled(self) -> list[str]:
        """``"<id> <name>"`` per class, for plot axes and tables."""
        return [f"{i} {n}" for i, n in enumerate(self.names)]


# Clips per action id in the official train and val lists (used to reproduce the long tail).
MA52_TRAIN_COUNTS: tuple[int, ...] = (
    309, 150, 20, 9, 156, 337, 242, 456, 962, 1283, 1193, 227, 112, 95, 42, 82, 76, 355, 87, 277,
    147, 356, 373, 397, 238, 66, 92, 97, 60, 231, 259, 398, 63, 82, 53, 33, 43, 43, 89, 82, 58,
    126, 66, 147, 52, 6, 25, 68, 421, 497, 92, 20,
)
MA52_VAL_COUNTS: tuple[int, ...] = (
    153, 74, 9, 3, 76, 168, 121, 228, 480, 641, 595, 112, 56, 47, 21, 41, 37, 176, 43, 138, 73,
    177, 186, 197, 119, 33, 46, 48, 30, 115, 128, 198, 30, 40, 25, 16, 21, 20, 44, 40, 28, 63, 33,
    72, 25, 2, 12, 34, 209, 248, 45, 10,
)
