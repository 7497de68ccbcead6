"""Helpers shared by the benchmarks: peak RSS, quantiles, table cells."""

from __future__ import annotations

import statistics


def vm_hwm_kb(pid: int) -> int:
    """Peak RSS of a running process. (wait4's ru_maxrss would include the
    parent's memory copied by fork before exec, about 14 MB of Python.)"""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise SystemExit("no VmHWM in /proc/PID/status: the benchmarks need Linux")


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fmt(values: list[float]) -> str:
    """median (min–max); "n/a" when nothing could be measured (e.g. CPU deltas of 0
    over a tiny number of calls)."""
    if not values:
        return "n/a"
    return f"{statistics.median(values):.3g} ({min(values):.3g}–{max(values):.3g})"
