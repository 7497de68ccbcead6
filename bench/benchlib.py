"""Helpers shared by the benchmarks: peak RSS, quantiles, table cells, and the
frame of a benchmark that runs one function two ways side by side."""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Callable


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


def pair_ratios(runs: dict, a: str, b: str, key: str) -> list[float]:
    """A's figure over B's, round by round."""
    return [x[key] / y[key] for x, y in zip(runs[a], runs[b]) if y[key] > 0]


def table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def figure_rows(runs: dict, base: str, other: str, figures: list[tuple[str, str]]) -> list[list[str]]:
    """One row per figure: its label, base's and other's median (min–max), other / base."""
    return [[label, fmt([r[key] for r in runs[base]]), fmt([r[key] for r in runs[other]]),
             fmt(pair_ratios(runs, other, base, key))] for key, label in figures]


def two_ways_parser(doc: str) -> argparse.ArgumentParser:
    """The options of a benchmark of one bootstrap run two ways."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emulator", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--instructions", type=int, default=0, metavar="K")
    parser.add_argument("--json", help="write the raw figures here")
    return parser


def alternate(name: str, rounds: int, modes, one_round: Callable[[str], dict],
              between: Callable[[], None] | None = None) -> dict[str, list[dict]]:
    """`rounds` rounds of every mode in turn (A B A B ...): each mode's figures."""
    runs: dict[str, list[dict]] = {mode: [] for mode in modes}
    for r in range(rounds):
        for mode in modes:
            runs[mode].append(one_round(mode))
        if between:
            between()
        print(f"{name} round {r + 1}/{rounds} done", file=sys.stderr)
    return runs
