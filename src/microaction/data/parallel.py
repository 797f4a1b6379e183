"""One process pool with a progress bar, shared by synth, check and prepare."""

from __future__ import annotations

import multiprocessing as mp
import os


def default_workers() -> int:
    return min(os.cpu_count() or 1, 8)


def parallel_map(fn, jobs: list, workers: int | None = None, desc: str = "",
                 progress: bool = True, ordered: bool = False):
    """Yield ``fn(job)`` for each job, in a process pool (in-process when workers == 1)."""
    from microaction.progress import progress_bar

    workers = workers or default_workers()
    with progress_bar(total=len(jobs), desc=desc, unit="clip", enabled=progress) as bar:
        if workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                yield fn(job)
                bar.update()
            return
        ctx = mp.get_context("fork" if hasattr(os, "fork") else "spawn")
        with ctx.Pool(workers) as pool:
            it = pool.imap if ordered else pool.imap_unordered
            for result in it(fn, jobs, chunksize=2):
                yield result
                bar.update()
