"""Teaches moto 5.2.5's CloudFormation `AWS::BedrockAgentCore::Gateway` and
`AWS::BedrockAgentCore::GatewayTarget`.

moto has no CloudFormation model for either, but it has the service: these models
create, read and delete through moto's own `bedrock-agentcore-control` backend, so
`GetGateway` / `GetGatewayTarget` see what the stack made and stop seeing it once the
stack is deleted. CloudFormation's property names (PascalCase) become the API's
(camelCase) on the way in.

Attributes: a gateway's `GatewayIdentifier`, `GatewayArn`, `GatewayUrl`, `Status`; a
target's `TargetId`, `Status`. A gateway's `Ref` is its identifier; a target's is
`<gatewayId>|<targetId>` (the two parts of its primary identifier).

`MCP_MOTO_GATEWAY_URL`, when set, is reported as every gateway's URL: tests point it
at the local emulator's gateway front, the data plane moto does not have. Import this
module before the server starts (see `run_moto.py`), as for `lambda_url`.
"""

from __future__ import annotations

import os
from typing import Any

from moto.bedrockagentcorecontrol.exceptions import ResourceNotFoundException
from moto.bedrockagentcorecontrol.models import bedrockagentcorecontrol_backends
from moto.bedrockagentcorecontrol.responses import BedrockAgentCoreControlResponse
from moto.core.responses import ActionResult
from moto.core.common_models import CloudFormationModel

from mcp_moto import BackendModel


def _camel(value: Any) -> Any:
    """CloudFormation's PascalCase keys as the API's camelCase, all the way down."""
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:]): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _backend(account_id: str, region_name: str):
    return bedrockagentcorecontrol_backends[account_id][region_name]


class AgentCoreGateway(BackendModel, CloudFormationModel):
    ATTRIBUTES = ("GatewayIdentifier", "GatewayArn", "GatewayUrl", "Status")

    def __init__(self, gateway: Any):
        self.gateway = gateway

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::BedrockAgentCore::Gateway"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        return self.gateway.gateway_id

    def attributes(self) -> dict[str, str]:
        return {
            "GatewayIdentifier": self.gateway.gateway_id,
            "GatewayArn": self.gateway.gateway_arn,
            "GatewayUrl": self.gateway.gateway_url,
            "Status": "READY",
        }

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> "AgentCoreGateway":
        props = cloudformation_json["Properties"]
        tags = props.get("Tags") or {}
        gateway = _backend(account_id, region_name).create_gateway(
            name=props.get("Name", resource_name),
            role_arn=props["RoleArn"],
            protocol_type=props.get("ProtocolType", "MCP"),
            authorizer_type=props["AuthorizerType"],
            description=props.get("Description"),
            protocol_configuration=_camel(props.get("ProtocolConfiguration")),
            authorizer_configuration=_camel(props.get("AuthorizerConfiguration")),
            kms_key_arn=props.get("KmsKeyArn"),
            interceptor_configurations=None,
            policy_engine_configuration=None,
            exception_level=props.get("ExceptionLevel"),
            tags={str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else None,
        )
        url = os.environ.get("MCP_MOTO_GATEWAY_URL")
        if url:
            gateway.gateway_url = url  # GetGateway then agrees with the stack's attribute
        return cls(gateway)

    @staticmethod
    def remove(account_id: str, region_name: str, physical_id: str) -> None:
        _backend(account_id, region_name).delete_gateway(physical_id)


class AgentCoreGatewayTarget(BackendModel, CloudFormationModel):
    ATTRIBUTES = ("TargetId", "Status")

    def __init__(self, gateway_id: str, target: Any):
        self.gateway_id = gateway_id
        self.target = target

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::BedrockAgentCore::GatewayTarget"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        return f"{self.gateway_id}|{self.target.target_id}"

    def attributes(self) -> dict[str, str]:
        return {"TargetId": self.target.target_id, "Status": "READY"}

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> "AgentCoreGatewayTarget":
        props = cloudformation_json["Properties"]
        gateway_id = props["GatewayIdentifier"]
        target = _backend(account_id, region_name).create_gateway_target(
            gateway_identifier=gateway_id,
            name=props.get("Name", resource_name),
            target_configuration=_camel(props["TargetConfiguration"]),
            description=props.get("Description"),
            credential_provider_configurations=_camel(props.get("CredentialProviderConfigurations")),
            metadata_configuration=None,
        )
        return cls(gateway_id, target)

    @staticmethod
    def remove(account_id: str, region_name: str, physical_id: str) -> None:
        gateway_id, _, target_id = physical_id.partition("|")
        _backend(account_id, region_name).delete_gateway_target(gateway_id, target_id)


# AgentCore makes a workload identity for every gateway (docs
# `gateway-setup-workload-identity`); moto 5.2.5 names one in each gateway's
# `workloadIdentityDetails` but has no API for it. `GetWorkloadIdentity` answers here
# for the identity of a gateway that exists, and `ResourceNotFoundException` once the
# gateway is gone. (AWS deletes it asynchronously, after the gateway: teardown waits
# for it with the slow deletions' window.)


def _get_workload_identity(self) -> ActionResult:
    name = self._get_param("name")
    for gateway in self.backend.gateways.values():
        arn = gateway.workload_identity_details["workloadIdentityArn"]
        if arn.rsplit("/", 1)[-1] == name:
            return ActionResult({"name": name, "workloadIdentityArn": arn, "allowedResourceOauth2ReturnUrls": []})
    raise ResourceNotFoundException(f"Could not find WorkloadIdentity {name}")


BedrockAgentCoreControlResponse.get_workload_identity = _get_workload_identity
