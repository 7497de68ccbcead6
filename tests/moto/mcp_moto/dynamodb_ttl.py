"""Teaches moto 5.2.5's CloudFormation a DynamoDB table's `TimeToLiveSpecification`.

moto's `AWS::DynamoDB::Table` model creates the table but ignores the property, so
`DescribeTimeToLive` says DISABLED where AWS says ENABLED. This wraps the model's
create to apply the specification through moto's own `UpdateTimeToLive`, as
CloudFormation does on AWS.
"""

from __future__ import annotations

from typing import Any

from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

_create = Table.create_from_cloudformation_json.__func__


def _create_with_ttl(cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
                     region_name: str, **kwargs: Any) -> Table:
    table = _create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    spec = cloudformation_json.get("Properties", {}).get("TimeToLiveSpecification")
    if spec:
        enabled = spec.get("Enabled") in (True, "true", "True")
        dynamodb_backends[account_id][region_name].update_time_to_live(
            table.name, {"AttributeName": spec["AttributeName"], "Enabled": enabled}
        )
    return table


Table.create_from_cloudformation_json = classmethod(_create_with_ttl)
