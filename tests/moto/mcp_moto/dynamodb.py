"""Two things DynamoDB does that moto 5.2.5 does not.

1. Atomic conditional writes. DynamoDB applies a conditional `PutItem`, `UpdateItem` or
   `DeleteItem` to an item atomically; moto's server handles requests on threads and
   reads, checks and writes an item without a lock, so two concurrent `ADD` updates can
   both pass `c < limit` and both write the same count (seen: 8 admitted calls against a
   quota of 7 under 16 concurrent callers). One lock around moto's item writes restores
   what the rate limiter relies on. The item a write returns is copied inside the lock:
   moto's response reads it after the write returns, and a concurrent write to the same
   item changed it in place meanwhile, so two `ADD` updates answered the same new count
   (seen: remaining counts 0, 1, 2, 2, 4 under 16 concurrent callers), where DynamoDB
   answers each update with the values that update wrote.
2. CloudFormation's `TimeToLiveSpecification` on `AWS::DynamoDB::Table`. moto's model
   creates the table but ignores the property, so `DescribeTimeToLive` says DISABLED
   where AWS says ENABLED. The model's create then applies it through moto's own
   `UpdateTimeToLive`, as CloudFormation does on AWS.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import Table

_writes = threading.Lock()


def _atomic(write):
    @functools.wraps(write)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _writes:
            return copy.deepcopy(write(*args, **kwargs))

    return locked


for _name in ("put_item", "update_item", "delete_item"):
    setattr(DynamoDBBackend, _name, _atomic(getattr(DynamoDBBackend, _name)))

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
