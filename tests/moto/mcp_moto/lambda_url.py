"""Teaches moto 5.2.5's CloudFormation the `AWS::Lambda::Url` resource.

moto's CloudFormation skips `AWS::Lambda::Url` (and a `Fn::GetAtt` on it fails the
whole stack). This model creates the URL config through moto's own Lambda backend,
so `GetFunctionUrlConfig` sees it, and serves the `FunctionUrl` and `FunctionArn`
attributes. moto builds its resource-type map from the direct subclasses of
`CloudFormationModel` and caches it the first time a stack is parsed, so this module
is imported by the launcher (`run_moto.py`) before the server starts.

`MCP_MOTO_FUNCTION_URL`, when set, is reported as every function's URL: the tests
point it at the local emulator, which plays the data plane that moto does not have.
"""

from __future__ import annotations

import os
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.core.common_models import CloudFormationModel

from mcp_moto import BackendModel


class LambdaFunctionUrl(BackendModel, CloudFormationModel):
    ATTRIBUTES = ("FunctionUrl", "FunctionArn")

    def __init__(self, account_id: str, region: str, function_arn: str, auth_type: str, url: str):
        self.account_id = account_id
        self.region = region
        self.function_arn = function_arn
        self.auth_type = auth_type
        self.url = url

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Url"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.function_arn

    def attributes(self) -> dict[str, str]:
        return {"FunctionUrl": self.url, "FunctionArn": self.function_arn}

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> "LambdaFunctionUrl":
        props = cloudformation_json["Properties"]
        backend = lambda_backends[account_id][region_name]
        target = props["TargetFunctionArn"]
        config = backend.create_function_url_config(
            target, {"AuthType": props.get("AuthType", "AWS_IAM"), "InvokeMode": props.get("InvokeMode", "BUFFERED")}
        )
        url = os.environ.get("MCP_MOTO_FUNCTION_URL") or config.url
        config.url = url  # GetFunctionUrlConfig then agrees with the stack's attribute
        function_arn = config.function.function_arn
        return cls(account_id, region_name, function_arn, props.get("AuthType", "AWS_IAM"), url)

    @staticmethod
    def remove(account_id: str, region_name: str, physical_id: str) -> None:
        # The physical id is the function's ARN.
        lambda_backends[account_id][region_name].delete_function_url_config(physical_id)
