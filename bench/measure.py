"""Timing samples and plain-text tables for the benchmark (no pass/fail, figures only)."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sample:
    """Durations in seconds, one per run."""

    durations: tuple[float, ...]

    @property
    def runs(self) -> int:
        return len(self.durations)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.durations) * 1000

    @property
    def p95_ms(self) -> float:
        """Nearest-rank 95th percentile."""
        ordered = sorted(self.durations)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000


def sample(
    fn: Callable[[], Any], runs: int, setup: Callable[[], None] | None = None
) -> tuple[Sample, Any]:
    """Time `fn` `runs` times (with `setup` before each run, untimed); return the last result."""
    durations = []
    result = None
    for _ in range(runs):
        if setup is not None:
            setup()
        start = time.perf_counter()
        result = fn()
        durations.append(time.perf_counter() - start)
    return Sample(tuple(durations)), result


def ms(value: float) -> str:
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1) -> str:
    """Columns sized to fit; the first `left` columns left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [
            cell.ljust(widths[i]) if i < left else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  " + "  ".join(parts).rstrip()

    rule = "  " + "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])
