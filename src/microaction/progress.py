"""Progress bars: tqdm on a terminal; elsewhere (a log file, CI) one plain line when a bar
finishes instead of hundreds of carriage-return updates. A leaf module."""

from __future__ import annotations

import sys
import time


class _LineProgress:
    """tqdm's small interface, writing one summary line to its stream (stderr, like tqdm) on
    close."""

    def __init__(self, total=None, desc: str = "", unit: str = "it", initial: int = 0,
                 enabled: bool = True, **_):
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.enabled, self.postfix, self.start = enabled, "", time.monotonic()
        self.closed = False

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, **kw) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in kw.items())

    def close(self) -> None:
        if self.closed or not self.enabled:
            return
        self.closed = True
        took = time.monotonic() - self.start
        total = f"/{self.total}" if self.total else ""
        extra = f", {self.postfix}" if self.postfix else ""
        unit = self.unit if self.unit == "s" else f"{self.unit}s"
        sys.stderr.write(f"{self.desc}: {self.n}{total} {unit} in {took:.0f} s{extra}\n")
        sys.stderr.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def progress_bar(total=None, desc: str = "", unit: str = "it", initial: int = 0,
                 enabled: bool = True, leave: bool = True):
    """A tqdm bar when stderr is a terminal, else a one-line summary on close."""
    if enabled and sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, initial=initial, leave=leave)
    return _LineProgress(total, desc, unit, initial, enabled)
