"""Teaches moto 5.2.5 two things about CloudWatch that the deploy CLI relies on.

1. CloudFormation's `AWS::CloudWatch::Alarm`.

moto serves the CloudWatch alarm API but its CloudFormation has no model for
alarms, so a stack's alarms were never made and a teardown would "verify" them gone
without proof. This model puts the alarm through moto's own `PutMetricAlarm` (a
single metric, or metric math in `Metrics`, as the deploy CLI's alarms use both) and
deletes it with the stack. Its physical id is the alarm's name, as on AWS
(AWS::CloudWatch::Alarm's `Ref`). moto already models `AWS::CloudWatch::Dashboard`.

2. The Smithy RPC v2 CBOR protocol, for the two calls teardown makes (below).
"""

from __future__ import annotations

import os
import struct
import urllib.parse
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID

from moto.cloudwatch.models import (
    Dimension, Metric, MetricDataQuery, MetricStat, cloudwatch_backends,
)
from moto.core.common_models import CloudFormationModel

from mcp_moto import BackendModel


def _queries(metrics: list[dict[str, Any]]) -> list[MetricDataQuery]:
    out = []
    for query in metrics:
        stat = None
        if "MetricStat" in query:
            spec = query["MetricStat"]
            metric = spec["Metric"]
            dimensions = [Dimension(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])]
            stat = MetricStat(Metric(metric["MetricName"], metric["Namespace"], dimensions),
                              int(spec["Period"]), spec["Stat"], spec.get("Unit"))
        out.append(MetricDataQuery(query["Id"], query.get("Label", ""), query.get("Period"),
                                   query.get("ReturnData", True), query.get("Expression"), stat))
    return out


class CloudWatchAlarm(BackendModel, CloudFormationModel):
    ATTRIBUTES = ("Arn",)

    def __init__(self, alarm: Any):
        self.alarm = alarm

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @property
    def physical_resource_id(self) -> str:
        return self.alarm.name

    def attributes(self) -> dict[str, str]:
        return {"Arn": self.alarm.alarm_arn}

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> "CloudWatchAlarm":
        props = cloudformation_json["Properties"]
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=props.get("AlarmName", resource_name),
            namespace=props.get("Namespace"),
            metric_name=props.get("MetricName"),
            comparison_operator=props["ComparisonOperator"],
            evaluation_periods=int(props["EvaluationPeriods"]),
            period=int(props.get("Period", 0)) or None,
            threshold=float(props["Threshold"]),
            statistic=props.get("Statistic"),
            description=props.get("AlarmDescription", ""),
            dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in props.get("Dimensions", [])],
            alarm_actions=props.get("AlarmActions", []),
            metric_data_queries=_queries(props.get("Metrics", [])) or None,
            treat_missing_data=props.get("TreatMissingData"),
        )
        return cls(alarm)

    @staticmethod
    def remove(account_id: str, region_name: str, physical_id: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([physical_id])


# CloudWatch's Smithy RPC v2 CBOR protocol, for the two calls teardown makes.
#
# aws-sdk-cloudwatch (Rust) speaks RPC v2 CBOR: `POST /service/GraniteServiceVersion20100801/
# operation/<Operation>` with a CBOR body, answered in CBOR with `smithy-protocol:
# rpc-v2-cbor`, errors as a map with `__type`. moto 5.2.5 routes only CloudWatch's query
# and JSON protocols (botocore's choice), so the SDK's calls got 404. This serves
# `GetDashboard` and `DescribeAlarms` by name from moto's backend, in that protocol, with a
# small CBOR codec (RFC 8949: the major types those messages use).

_OPERATION_PATH = "/service/GraniteServiceVersion20100801/operation/"


def _cbor_decode(data: bytes, at: int = 0) -> tuple[Any, int]:
    head = data[at]
    major, info = head >> 5, head & 0x1F
    at += 1
    if major == 7:
        simple = {20: False, 21: True, 22: None, 23: None}
        if info in simple:
            return simple[info], at
        size, fmt = {25: (2, ">e"), 26: (4, ">f"), 27: (8, ">d")}[info]
        return struct.unpack(fmt, data[at:at + size])[0], at + size
    if info < 24:
        length = info
    elif info == 31:
        length = None
    else:
        size = 1 << (info - 24)
        length, at = int.from_bytes(data[at:at + size], "big"), at + size
    if major in (0, 1):
        return (length if major == 0 else -1 - length), at
    if major in (2, 3):
        chunk = data[at:at + length]
        return (chunk if major == 2 else chunk.decode()), at + length
    if major == 6:
        return _cbor_decode(data, at)  # a tag: its value
    items = []
    # A map of N pairs holds 2N data items; an indefinite one ends at the break byte.
    count = -1 if length is None else length * (2 if major == 5 else 1)
    while count != 0 and not (length is None and data[at] == 0xFF):
        item, at = _cbor_decode(data, at)
        items.append(item)
        count -= 1
    at += 1 if length is None else 0
    if major == 4:
        return items, at
    return dict(zip(items[::2], items[1::2])), at


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if length < 1 << (8 * size):
            return bytes([major << 5 | info]) + length.to_bytes(size, "big")
    raise ValueError("too long")


def _cbor_encode(value: Any) -> bytes:
    if value is None:
        return b"\xf6"
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _cbor_head(0, value) if value >= 0 else _cbor_head(1, -1 - value)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, str):
        raw = value.encode()
        return _cbor_head(3, len(raw)) + raw
    if isinstance(value, list):
        return _cbor_head(4, len(value)) + b"".join(_cbor_encode(v) for v in value)
    return _cbor_head(5, len(value)) + b"".join(_cbor_encode(k) + _cbor_encode(v) for k, v in value.items())


def _rpc_v2_cbor(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
    operation = urllib.parse.urlparse(full_url).path.rsplit("/", 1)[-1]
    body = request.data if hasattr(request, "data") else request.body
    params = _cbor_decode(body)[0] if body else {}
    auth = headers.get("Authorization", "")
    # The region is the SigV4 credential scope's (the endpoint is moto's, not AWS's).
    region = auth.split("Credential=")[1].split("/")[2] if "Credential=" in auth else "us-east-1"
    backend = cloudwatch_backends[os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)][region]
    reply_headers = {"smithy-protocol": "rpc-v2-cbor", "content-type": "application/cbor"}
    if operation == "GetDashboard":
        dashboard = backend.get_dashboard(params.get("DashboardName", ""))
        if dashboard is None:
            error = {"__type": "ResourceNotFound", "message": "Dashboard does not exist"}
            return 404, reply_headers, _cbor_encode(error)
        found = {"DashboardArn": dashboard.arn, "DashboardBody": dashboard.body, "DashboardName": dashboard.name}
        return 200, reply_headers, _cbor_encode(found)
    if operation == "DescribeAlarms":
        names = set(params.get("AlarmNames") or [])
        alarms = [{"AlarmName": a.name, "AlarmArn": a.alarm_arn} for a in backend.alarms.values()
                  if not names or a.name in names]
        return 200, reply_headers, _cbor_encode({"MetricAlarms": alarms, "CompositeAlarms": []})
    error = {"__type": "InvalidAction", "message": f"{operation} is not served over RPC v2 CBOR here"}
    return 400, reply_headers, _cbor_encode(error)


def _register() -> None:
    import moto.cloudwatch.urls as urls  # noqa: PLC0415

    urls.url_paths["{0}" + _OPERATION_PATH + "(?P<operation>[A-Za-z]+)$"] = _rpc_v2_cbor


_register()
