"""Shared fixtures: where the binaries and third-party peers are."""

import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def _target_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))


@pytest.fixture(scope="session")
def mcp_local() -> str:
    path = pathlib.Path(os.environ.get("MCP_LOCAL_BIN", _target_dir() / "debug" / "mcp-local"))
    if not path.is_file():
        pytest.fail(f"{path} is missing: build it with `cargo build -p mcp-local` (scripts/test.sh does)")
    return str(path)


@pytest.fixture(scope="session")
def node_bin() -> pathlib.Path:
    """The folder with Node 22 and the npm peers (installed by scripts/test.sh)."""
    path = REPO / "tests" / "node" / "node_modules" / ".bin"
    if not (path / "node").exists():
        pytest.fail(f"{path}/node is missing: run scripts/test.sh, which installs the npm peers")
    return path
