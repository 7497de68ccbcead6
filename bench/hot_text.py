"""Writes crates/mcp-lambda/hot-text.ld: the linker script that puts the code a
warm `bootstrap` runs first in its executable, contiguous (`.text.hot`, placed after `.text`).

Why: a function's peak RSS is mostly its executable's code pages, and Linux maps
file pages around each fault (fault-around, 64 KiB), so what counts is how many
64 KiB windows the executed code touches, not how much code runs. After fat LTO
the code a request runs (about 0.55 MiB) is spread over nearly all of the 2.9 MiB
of `.text`, next to code that never runs on that path (rustls, ring, the AWS
SDK, jsonwebtoken): 2.2 MiB of it was resident. Grouped, about 0.6-1 MiB is.

How: the function runs under callgrind on the local Runtime API emulator and
serves what a client of a stateless MCP server sends (`initialize`, `tools/list`,
`tools/call`); every function it executed becomes an input-section pattern.
Symbol hashes are wildcards (`17h*E`, `Cs*_`, LTO's `.N` suffixes, the crate
a generic function was instantiated in): they change
with the profile, the target and the toolchain, the names do not, so the script
holds for the release build, cargo-lambda's build and later compilers. A name
that no longer exists matches nothing; it costs nothing but its benefit.

Usage: hot_text.py --emulator PATH --bootstrap UNSTRIPPED_BOOTSTRAP [--bootstrap ...] --out FILE
(scripts/hot-text.sh builds both and runs this.)
"""

from __future__ import annotations

import argparse
import glob
import http.client
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from lambda_bench import HEADERS, callgrind_wrapper, start

REQUESTS = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize",
     "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "hot-text", "version": "1"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
     "params": {"name": "demo_echo", "arguments": {"message": "hello"}}},
    {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
     "params": {"name": "word_count", "arguments": {"text": "one two three"}}},
]


def executed_symbols(emulator: str, bootstrap: str, rounds: int) -> set[str]:
    """Mangled names of the functions `bootstrap` executed from its start to
    the end of `rounds` passes over REQUESTS."""
    with tempfile.TemporaryDirectory() as tmp:
        wrapper = callgrind_wrapper(tmp, bootstrap, "--demangle=no")
        proc, ready = start(emulator, wrapper, timeout_s=300)
        try:
            url = urllib.parse.urlsplit(ready["functionUrl"])
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
            for _ in range(rounds):
                for message in REQUESTS:
                    conn.request("POST", "/", json.dumps(message).encode(), HEADERS)
                    response = conn.getresponse()
                    body = response.read()
                    if response.status not in (200, 202):
                        raise SystemExit(f"{message.get('method')}: HTTP {response.status}: {body[:200]!r}")
            with urllib.request.urlopen(ready["statsUrl"], timeout=5) as r:
                pid = json.load(r)["pid"]
            # The emulator stops a function with SIGKILL: ask for a dump first.
            subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True, timeout=120)
            deadline = time.monotonic() + 60
            names: set[str] = set()
            while time.monotonic() < deadline and not names:
                time.sleep(0.5)
                for path in glob.glob(f"{tmp}/callgrind.*"):
                    with open(path, errors="replace") as f:
                        for line in f:
                            m = re.match(r"^c?fn=\(\d+\) (\S+)$", line.rstrip("\n"))
                            if m:
                                names.add(m.group(1))
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    if not names:
        raise SystemExit("callgrind wrote no function names")
    return names


def pattern(name: str) -> str | None:
    """A name as a linker-script glob without what varies from build to
    build; None for what is not Rust (libc's functions, which are not in
    this executable). The trailing `*` takes LTO's `.N` suffixes and, in v0
    names, the crate a generic function was instantiated in: LTO keeps one
    copy of it, not always the same one."""
    name = re.sub(r"(\.llvm)?\.\d+$", "", name)
    if name.startswith("_ZN"):
        name = re.sub(r"17h[0-9a-f]{16}E", "17h*E", name)
    elif name.startswith("_R"):
        name = re.sub(r"Cs[0-9A-Za-z]+_", "Cs*_", name)
        crate = re.search(r"Cs\*_(\d+)([A-Za-z0-9_]+)$", name)
        if crate and len(crate.group(2)) == int(crate.group(1)):
            name = name[: crate.start()]
    elif name == "main":
        return name
    else:
        return None
    return name + "*"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emulator", required=True)
    parser.add_argument("--bootstrap", action="append", required=True,
                        help="a release bootstrap with its symbols (not stripped); repeat for several builds "
                             "(the host's and cargo-lambda's inline differently): the union is kept")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    executed: set[str] = set()
    for bootstrap in args.bootstrap:
        executed |= executed_symbols(args.emulator, bootstrap, args.rounds)
    patterns = sorted({p for p in map(pattern, executed) if p})
    # LLVM puts `#[cold]` functions in `.text.unlikely.NAME`: both forms.
    lines = [f"    *(.text.{p} .text.unlikely.{p})" for p in patterns]
    # The C runtime's start-up code (`_start`, `frame_dummy`) is in plain
    # `.text` sections of the crt objects; `_init` and the PLT follow `.text`
    # in the linker's layout, so `.text.hot` goes last, just before them.
    lines.append("    *crt1.o(.text) *crti.o(.text) *crtbegin*.o(.text) *crtend*.o(.text) *crtn.o(.text)")
    with open(args.out, "w") as f:
        f.write("/* Generated by bench/hot_text.py (scripts/hot-text.sh); see there for why.\n"
                "   The functions a warm bootstrap runs, first and together in its code. */\n"
                "SECTIONS {\n  .text.hot : {\n" + "\n".join(lines) + "\n  }\n} INSERT AFTER .text;\n")
    print(f"wrote {args.out}: {len(patterns)} patterns", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
