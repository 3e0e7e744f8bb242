"""Timing helpers shared by the benchmarks."""

import statistics
import time

from django.db import connection
from django.test.utils import CaptureQueriesContext


def timed(fn, repeat: int = 5, warmup: int = 1):
    """Median seconds of `fn()` over `repeat` runs, and the queries of the last run."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(times), len(queries.captured_queries)


def table(title: str, header: list[str], rows: list[list]):
    print(title)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    for line in [header, *rows]:
        print("  " + "  ".join(str(x).rjust(w) for x, w in zip(line, widths, strict=True)))
