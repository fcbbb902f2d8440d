"""Progress of long CLI operations, drawn on stderr.

Only when stderr is a terminal: a redirected stderr (scripts, CI logs)
and stdout (where ``-f json`` output goes) get nothing extra.  The code
doing the work takes a plain callback, ``report(done, total)``, so it
needs no rich (host_agent/ stays free of it).
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

Report = Callable[[int, int], None]


def _ignore(_done: int, _total: int) -> None:
    """The report of a run nobody watches."""


@contextmanager
def progress(description: str, stream: TextIO | None = None) -> Iterator[Report]:
    """A ``report(done, total)`` callback that moves a rich progress bar
    on ``stream`` (stderr by default) while the block runs; a no-op when
    the stream is not a terminal.  The bar is removed when the block ends."""
    stream = sys.stderr if stream is None else stream
    if not stream.isatty():
        yield _ignore
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   console=Console(file=stream), transient=True)
    task = bar.add_task(description, total=None)

    def report(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield report
