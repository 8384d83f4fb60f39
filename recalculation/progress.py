"""A progress bar for long work: on a terminal only, and only once the work has taken a second.

Two kinds of progress: files or scenario rows done (``advance``), and, while one large
workbook is being worked on, which step it is in (``phase``: reading, reading the
formulas, evaluating, writing) with the time elapsed, so a one-minute workbook does not
look stuck. The bar appears after a second (a timer, so also in the middle of one long
step) and disappears when the work ends.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

SHOW_AFTER = 1.0  # seconds


class Progress:
    """A rich progress bar that appears only after a second and only on a terminal."""

    def __init__(self, total: int, label: str, enabled: bool | None, console: Any = None):
        self.total, self.label, self.done = total, label, 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.monotonic()
        self.step = ""
        self.console = console
        self.bar: Any = None
        self.task: Any = None
        self.closed = False
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        if self.enabled:
            self._timer = threading.Timer(SHOW_AFTER, self._show)
            self._timer.daemon = True
            self._timer.start()

    def _description(self) -> str:
        return f"{self.label}: {self.step}" if self.step else self.label

    def _show(self) -> None:
        with self._lock:
            if self.bar is not None or self.closed or (self.done >= self.total and not self.step):
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            self.bar = Bar(SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
                           MofNCompleteColumn(), TimeElapsedColumn(), console=self.console or Console(stderr=True),
                           transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self._description(), total=self.total, completed=self.done)

    def advance(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        if self.bar is None and time.monotonic() - self.start > SHOW_AFTER and self.done < self.total:
            self._show()
        with self._lock:
            if self.bar is not None:
                self.bar.update(self.task, completed=self.done)

    def phase(self, text: str) -> None:
        """The step the work is in now (``""``: none); shown next to the label."""
        self.step = text
        if not self.enabled:
            return
        with self._lock:
            if self.bar is not None:
                self.bar.update(self.task, description=self._description())

    def close(self) -> None:
        with self._lock:
            self.closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self.bar is not None:
                self.bar.stop()
                self.bar = None
