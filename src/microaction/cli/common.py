"""What every verb module shares: adding a verb with a description, defaults and an example;
argument types; deprecated flag aliases; torch set-up."""

from __future__ import annotations

import argparse
import sys


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (where it has a value to show) and keeps the description's
    and example's line breaks."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or \
                not action.option_strings or action.default == []:
            return text
        return f"{text} (default: %(default)s)"


def add_verb(sub, name: str, summary: str, example: str, fn, description: str = ""):
    """A subcommand whose ``--help`` shows ``summary``, ``description``, every default and
    ``example`` (one command line a user can run)."""
    p = sub.add_parser(name, help=summary, description=f"{summary}\n\n{description}".strip(),
                       epilog=f"example:\n  {example}", formatter_class=HelpFormatter)
    p.set_defaults(fn=fn)
    return p


def add_quiet(p) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def add_generator_args(p, splits: str) -> None:
    """What every synthetic-data verb takes: seed, splits, worker processes, quiet."""
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same frames)")
    p.add_argument("--splits", default=splits, help="comma-separated splits to write")
    p.add_argument("--workers", type=int, default=None, help="processes (default: CPU count)")
    add_quiet(p)


class DeprecatedAlias(argparse.Action):
    """An old flag kept for one release: stores into the new flag's dest and says so."""

    def __init__(self, option_strings, dest, new: str = "", **kw):
        self.new = new
        super().__init__(option_strings, dest, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"warning: {option_string} is deprecated (removed in 0.3); use {self.new}",
              file=sys.stderr)
        setattr(namespace, self.dest, values)


def deprecated_alias(p, old: str, new: str, dest: str, type=None) -> None:
    p.add_argument(old, dest=dest, type=type, action=DeprecatedAlias, new=new,
                   help=argparse.SUPPRESS)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def csv_ints(text: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


def views(text: str) -> tuple[int, int]:
    """``CLIPSxCROPS`` test views, e.g. ``1x1`` or ``2x3``."""
    try:
        clips, crops = (int(t) for t in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected CLIPSxCROPS like 1x1 or 2x3, got {text!r}")
    if clips < 1 or crops not in (1, 3):
        raise argparse.ArgumentTypeError(f"clips must be >= 1 and crops 1 or 3, got {text!r}")
    return clips, crops


def setup_torch() -> None:
    import torch

    torch.set_flush_denormal(True)  # denormals make CPU backward passes 100x slower
