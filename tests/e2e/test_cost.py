"""The cost ladder (bench/cost.py): its figures follow the bench's measurements and the
price table, and every price names its page and the day it was read."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys

from conftest import REPO

PRICES = REPO / "bench" / "prices.json"
MEASURED = {"runs": {
    "rust": [{"init_ms": 1.4, "warm_p50_us": 360.0, "peak_rss_mb": 4.0, "log_bytes_per_call": 520.0}],
    "python": [{"init_ms": 33.0, "warm_p50_us": 410.0, "peak_rss_mb": 14.0, "log_bytes_per_call": 0.0}],
    "rust-shared": [{"init_ms": 1.5, "warm_p50_us": 2100.0, "peak_rss_mb": 6.0, "log_bytes_per_call": 520.0}],
}}


def _render(tmp_path, measured: dict, prices: dict | None = None) -> str:
    lam = tmp_path / "lambda.json"
    lam.write_text(json.dumps(measured))
    price_file = PRICES
    if prices is not None:
        price_file = tmp_path / "prices.json"
        price_file.write_text(json.dumps(prices))
    out = tmp_path / "cost.md"
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "cost.py"), "--lambda", str(lam),
                           "--prices", str(price_file), "--out", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return out.read_text()


def _row(report: str, label: str) -> list[str]:
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells and cells[0] == label:
            return cells
    raise AssertionError(f"no row {label!r} in\n{report}")


def _usd(cell: str) -> float:
    return float(re.sub(r"[^0-9.]", "", cell))


def test_every_price_names_its_source_and_day() -> None:
    prices = json.loads(PRICES.read_text())["prices"]
    assert {"lambda_request", "lambda_gb_second_x86_64", "lambda_gb_second_arm64", "api_gateway_rest_request",
            "waf_request", "waf_web_acl_month", "waf_rule_month", "agentcore_gateway_invocation",
            "agentcore_gateway_search", "dynamodb_write_request"} <= set(prices)
    for name, entry in prices.items():
        assert entry["usd"] > 0, name
        assert entry["source"].startswith("https://aws.amazon.com/"), name
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry["read"]), name


def test_the_ladder_is_computed_from_the_measurements(tmp_path) -> None:
    report = _render(tmp_path, MEASURED)
    prices = {k: v["usd"] for k, v in json.loads(PRICES.read_text())["prices"].items()}
    # 1 ms billed at 128 MB, plus the request.
    url_x86 = _row(report, "2. IAM Function URL (x86_64)")
    expected = 1e6 * (prices["lambda_request"] + 0.001 * 128 / 1024 * prices["lambda_gb_second_x86_64"])
    assert abs(_usd(url_x86[2]) - expected) < 1e-4, url_x86
    assert _usd(_row(report, "2. IAM Function URL (arm64)")[2]) < _usd(url_x86[2])
    internet = _row(report, "4. API Gateway REST + WAF (arm64)")
    assert _usd(internet[2]) > 1e6 * (prices["api_gateway_rest_request"] + prices["waf_request"])
    assert _row(report, "4. WAF web ACL")[1] == "$5.00"
    secret = _row(report, "every stack: the requestState key's secret (and per million cold starts, one read "
                          "each: $5.00)")
    assert secret[1] == "$0.4000", secret
    assert "## Per million cold starts" in report and "## Fixed monthly parts" in report


def test_the_numbers_move_with_the_measurements(tmp_path) -> None:
    before = _render(tmp_path, MEASURED)
    slower = copy.deepcopy(MEASURED)
    slower["runs"]["rust"][0].update(warm_p50_us=3600.0, init_ms=140.0, peak_rss_mb=300.0, log_bytes_per_call=1040.0)
    after = _render(tmp_path, slower)
    for label, column in [("2. IAM Function URL (x86_64)", 2), ("3. AgentCore Gateway, per million tool calls (arm64)", 2),
                          ("4. API Gateway REST + WAF (arm64)", 2), ("+ log and metric lines (any rung)", 2),
                          ("x86_64", 1)]:
        assert _usd(_row(after, label)[column]) > _usd(_row(before, label)[column]), label
    counting = copy.deepcopy(MEASURED)
    counting["runs"]["rust-shared"][0]["warm_p50_us"] = 9000.0
    label = "+ DynamoDB rate limits (any rung)"
    assert _usd(_row(_render(tmp_path, counting), label)[2]) > _usd(_row(before, label)[2])
    # The Python handler's figures did not move.
    assert _row(after, "2. IAM Function URL (x86_64)")[3] == _row(before, "2. IAM Function URL (x86_64)")[3]
    assert _row(after, "rust (this project)")[5] == "300", "the memory its peak RSS needs"


def test_the_numbers_move_with_the_prices(tmp_path) -> None:
    prices = json.loads(PRICES.read_text())
    before = _render(tmp_path, MEASURED)
    prices["prices"]["api_gateway_rest_request"]["usd"] *= 2
    after = _render(tmp_path, MEASURED, prices)
    label = "4. API Gateway REST + WAF (arm64)"
    assert _usd(_row(after, label)[2]) > _usd(_row(before, label)[2])
    assert _row(after, "2. IAM Function URL (arm64)") == _row(before, "2. IAM Function URL (arm64)")


def test_measurements_without_a_peer_are_refused_by_name(tmp_path) -> None:
    lam = tmp_path / "lambda.json"
    lam.write_text(json.dumps({"runs": {"rust": MEASURED["runs"]["rust"]}}))
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "cost.py"), "--lambda", str(lam),
                           "--prices", str(PRICES), "--out", str(tmp_path / "cost.md")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no runs of python" in proc.stderr, proc.stderr
