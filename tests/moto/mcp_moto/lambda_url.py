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


class LambdaFunctionUrl(CloudFormationModel):
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

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("FunctionUrl", "FunctionArn")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "FunctionUrl":
            return self.url
        if attribute_name == "FunctionArn":
            return self.function_arn
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

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
        config = backend.create_function_url_config(target, {"AuthType": props.get("AuthType", "AWS_IAM")})
        url = os.environ.get("MCP_MOTO_FUNCTION_URL") or config.url
        config.url = url  # GetFunctionUrlConfig then agrees with the stack's attribute
        function_arn = config.function.function_arn
        return cls(account_id, region_name, function_arn, props.get("AuthType", "AWS_IAM"), url)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls,
        original_resource: "LambdaFunctionUrl",
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> "LambdaFunctionUrl":
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        target = cloudformation_json["Properties"]["TargetFunctionArn"]
        cls._delete(account_id, region_name, target)

    def delete(self, account_id: str, region_name: str) -> None:
        self._delete(account_id, region_name, self.function_arn)

    @staticmethod
    def _delete(account_id: str, region_name: str, function_arn: str) -> None:
        # Stack deletion runs in no particular order: the function may be gone already.
        try:
            lambda_backends[account_id][region_name].delete_function_url_config(function_arn)
        except Exception:  # noqa: BLE001 - any "not found" shape means nothing is left
            pass

    def is_created(self) -> bool:
        return True
