"""The ``microaction`` command. One module per group of verbs; each verb is a short function
composing library pieces. Verb modules import torch and the models only inside their
functions, so ``--help``, ``score`` and ``submit`` start fast."""

from __future__ import annotations

import argparse
import logging
import sys

from microaction import __version__
from microaction.errors import MicroactionError

# group modules, in the order their verbs are listed by --help
GROUPS = ("data", "models", "train", "scores", "predict", "explain", "timeline", "emotion", "web",
          "demo")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (tests and tools swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


class _CliFormatter(logging.Formatter):
    """Info lines as they are; warnings and errors with their level in front."""

    def format(self, record):
        msg = super().format(record)
        return msg if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {msg}"


def build_parser() -> argparse.ArgumentParser:
    import importlib

    p = argparse.ArgumentParser(
        prog="microaction",
        description="Micro-action recognition on MA-52 (and synthetic data in the same layout).",
        epilog="example:\n  microaction demo --out runs/demo\n\n`microaction COMMAND --help` "
               "describes a command.", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"microaction {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        importlib.import_module(f"microaction.cli.{group}").register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    pkg = logging.getLogger("microaction")
    if not any(getattr(h, "microaction_cli", False) for h in pkg.handlers):
        handler = _StderrHandler()
        handler.setFormatter(_CliFormatter("%(message)s"))
        handler.microaction_cli = True
        pkg.addHandler(handler)
        pkg.propagate = False  # our lines once, without a root handler's prefix
    pkg.setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return int(args.fn(args) or 0)
    except MicroactionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
