"""The benchmark command runs end to end on a tiny count and writes a well-formed
report. (Figures come from `scripts/bench.sh` itself; nothing here is timed.)"""

import os
import re
import subprocess
import xml.dom.minidom

from conftest import REPO


def test_bench_command_writes_a_well_formed_report(tmp_path) -> None:
    env = dict(os.environ, BENCH_PROFILE="debug")
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "bench.sh"), "--rounds", "1", "--calls", "5",
         "--instructions", "0", "--out", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = (tmp_path / "benchmarks.md").read_text()
    for heading in ["## Goals", "## Local stdio: mcp-local against FastMCP",
                    "## Lambda: the function on the local Runtime API emulator", "## The release profile",
                    "## Rate limits: what counting costs", "## Response streaming: what it costs and buys",
                    "## Bearer tokens: what the resource server costs",
                    "## The state key and a multi round-trip request"]:
        assert heading in report, heading
    tables = re.findall(r"((?:^\|.*\|\n)+)", report, re.M)
    assert len(tables) == 7, tables
    for t in tables:
        rows = t.strip().splitlines()
        widths = {row.count("|") for row in rows}
        assert len(widths) == 1, f"ragged table:\n{t}"
        assert len(rows) >= 4
    assert "| zipped bootstrap, host build | < 2 MiB |" in report
    assert "| Lambda init with MCP_AUTH=oauth vs the floor | ≤ 1.5× |" in report
    assert "| Lambda init vs the lambda_http floor | ≤ 1.2× |" in report
    assert "| Lambda peak RSS vs Python | ≤ 0.3× |" in report
    assert re.search(r"\| Lambda init vs Python \| ≤ 0\.1× \| ([0-9.e+-]+|nan)× \| (met|\*\*not met\*\*|not measured) \|", report)
    xml.dom.minidom.parse(str(tmp_path / "benchmarks.svg"))
    cost = (tmp_path / "cost.md").read_text()
    for heading in ["## What was measured", "## Per million tool calls", "## Per million cold starts",
                    "## Fixed monthly parts", "## Prices"]:
        assert heading in cost, heading
