"""Instructions of one multi round-trip request (MCP 2026-07-28, SEP-2322):
the round that asks (the tool runs, its state is sealed with AES-256-GCM)
and the retry that completes (the state is opened and checked, the tool runs
again), through `Server::handle_bytes` of a release build
(`crates/mcp-core/examples/mrtr_round.rs`), counted by valgrind's callgrind:
(the count of N+1 requests - the count of 1) / N, so that start-up cancels.

    mrtr_bench.py --example target/release/examples/mrtr_round --json out.json
"""

import argparse
import json
import re
import shutil
import subprocess
import tempfile


def count(example: str, requests: int) -> int:
    """Instructions of `example requests` under callgrind."""
    valgrind = shutil.which("valgrind")
    assert valgrind, "valgrind is needed for instruction counts (Debian: apt-get install valgrind)"
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/callgrind.out"
        subprocess.run([valgrind, "--tool=callgrind", "-q", f"--callgrind-out-file={out}", example, str(requests)],
                       check=True, timeout=600, capture_output=True)
        with open(out) as f:
            totals = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.MULTILINE)
    assert totals, "callgrind wrote no total"
    return int(totals.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--example", required=True, help="the release build of the mrtr_round example")
    parser.add_argument("--rounds", type=int, default=50, help="multi round-trip requests to count over")
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    one, many = count(args.example, 1), count(args.example, args.rounds + 1)
    per_round = (many - one) / args.rounds
    with open(args.json, "w") as f:
        json.dump({"rounds": args.rounds, "per_round_instructions": per_round}, f)
    print(f"one multi round-trip request (two rounds): {per_round:,.0f} instructions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
