"""Teaches moto 5.2.5's CloudFormation the internet-facing stack's resources it lacks:
`AWS::ApiGateway::Stage`, `AWS::ApiGateway::Authorizer`, `AWS::ApiGateway::GatewayResponse`,
`AWS::WAFv2::WebACL`, `AWS::WAFv2::IPSet` and
`AWS::WAFv2::WebACLAssociation`, through moto's own API Gateway and WAFv2 backends (as
lambda_url.py does for `AWS::Lambda::Url`), so `GetStage`, `GetWebACL`, `GetIPSet` and
`GetWebACLForResource` see what the stack made, and a deleted stack leaves none of it.

Physical ids follow CloudFormation: a stage is its name (so `${Stage}` in an ARN is the
stage name; deletion reads the API from the resource's properties), a web ACL and an IP
set are `name|id|scope`, an association is `webAclArn|resourceArn`.
"""

from __future__ import annotations

from typing import Any

from moto.apigateway.models import apigateway_backends
from moto.core.common_models import CloudFormationModel
from moto.wafv2.models import wafv2_backends

from mcp_moto import BackendModel


def _tags(props: dict[str, Any]) -> list[dict[str, str]]:
    tags = props.get("Tags") or []
    return [{"Key": t["Key"], "Value": str(t["Value"])} for t in tags]


class ApiGatewayStage(BackendModel, CloudFormationModel):
    ATTRIBUTES = ()

    def __init__(self, rest_api_id: str, name: str):
        self.rest_api_id = rest_api_id
        self.name = name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Stage"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "StageName"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    def attributes(self) -> dict[str, str]:
        return {}

    def delete(self, account_id: str, region_name: str) -> None:
        self._quietly(account_id, region_name, f"{self.rest_api_id}|{self.name}")

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
    ) -> None:
        props = cloudformation_json["Properties"]
        cls._quietly(account_id, region_name, f"{props['RestApiId']}|{props['StageName']}")

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> "ApiGatewayStage":
        props = cloudformation_json["Properties"]
        backend = apigateway_backends[account_id][region_name]
        tags = {t["Key"]: t["Value"] for t in _tags(props)}
        # moto's Deployment model has no physical id: its Ref is the object.
        deployment = props["DeploymentId"]
        deployment_id = deployment if isinstance(deployment, str) else deployment.id
        stage = backend.create_stage(
            props["RestApiId"], props["StageName"], deployment_id,
            variables=props.get("Variables"), description=props.get("Description", ""), tags=tags,
        )
        # The throttling the stack asks for, as UpdateStage would record it.
        for setting in props.get("MethodSettings", []):
            key = f"{setting.get('ResourcePath', '/*').lstrip('/')}/{setting.get('HttpMethod', '*')}"
            stage.method_settings[key] = {
                "throttlingRateLimit": setting.get("ThrottlingRateLimit"),
                "throttlingBurstLimit": setting.get("ThrottlingBurstLimit"),
            }
        return cls(props["RestApiId"], props["StageName"])

    @staticmethod
    def remove(account_id: str, region_name: str, physical_id: str) -> None:
        rest_api_id, _, name = physical_id.partition("|")
        apigateway_backends[account_id][region_name].delete_stage(rest_api_id, name)


class ApiGatewayAuthorizer(BackendModel, CloudFormationModel):
    """`AWS::ApiGateway::Authorizer` through moto's backend (`GetAuthorizers` sees it);
    its Ref is the authorizer's id, as in CloudFormation."""

    ATTRIBUTES = ("AuthorizerId",)

    def __init__(self, rest_api_id: str, authorizer_id: str):
        self.rest_api_id, self.authorizer_id = rest_api_id, authorizer_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Authorizer"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        return self.authorizer_id

    def attributes(self) -> dict[str, str]:
        return {"AuthorizerId": self.authorizer_id}

    def delete(self, account_id: str, region_name: str) -> None:
        self._quietly(account_id, region_name, f"{self.rest_api_id}|{self.authorizer_id}")

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
    ) -> None:
        cls._quietly(account_id, region_name, f"{cloudformation_json['Properties']['RestApiId']}|{resource_name}")

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> "ApiGatewayAuthorizer":
        props = cloudformation_json["Properties"]
        ttl = props.get("AuthorizerResultTtlInSeconds")
        authorizer = apigateway_backends[account_id][region_name].create_authorizer(
            props["RestApiId"], props.get("Name", resource_name), props["Type"],
            authorizer_uri=props.get("AuthorizerUri"), identity_source=props.get("IdentitySource"),
            authorizer_result_ttl=None if ttl is None else int(ttl),
        )
        return cls(props["RestApiId"], authorizer.id)

    @staticmethod
    def remove(account_id: str, region_name: str, physical_id: str) -> None:
        rest_api_id, _, authorizer_id = physical_id.partition("|")
        apigateway_backends[account_id][region_name].delete_authorizer(rest_api_id, authorizer_id)


class ApiGatewayGatewayResponse(BackendModel, CloudFormationModel):
    """`AWS::ApiGateway::GatewayResponse` through moto's backend (`GetGatewayResponses`
    sees it)."""

    def __init__(self, rest_api_id: str, response_type: str):
        self.rest_api_id, self.response_type = rest_api_id, response_type

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::GatewayResponse"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ResponseType"

    @property
    def physical_resource_id(self) -> str:
        return f"{self.rest_api_id}|{self.response_type}"

    def attributes(self) -> dict[str, str]:
        return {}

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> "ApiGatewayGatewayResponse":
        props = cloudformation_json["Properties"]
        apigateway_backends[account_id][region_name].put_gateway_response(
            props["RestApiId"], props["ResponseType"], status_code=props.get("StatusCode"),
            response_parameters=props.get("ResponseParameters"), response_templates=props.get("ResponseTemplates"),
        )
        return cls(props["RestApiId"], props["ResponseType"])

    @staticmethod
    def remove(account_id: str, region_name: str, physical_id: str) -> None:
        rest_api_id, _, response_type = physical_id.partition("|")
        apigateway_backends[account_id][region_name].delete_gateway_response(rest_api_id, response_type)


class WafWebAcl(BackendModel, CloudFormationModel):
    ATTRIBUTES = ("Arn", "Id", "LabelNamespace")

    def __init__(self, name: str, wacl_id: str, scope: str, arn: str):
        self.name, self.wacl_id, self.scope, self.arn = name, wacl_id, scope, arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::WAFv2::WebACL"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        return f"{self.name}|{self.wacl_id}|{self.scope}"

    def attributes(self) -> dict[str, str]:
        return {"Arn": self.arn, "Id": self.wacl_id, "LabelNamespace": f"awswaf:managed:{self.name}:"}

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> "WafWebAcl":
        props = cloudformation_json["Properties"]
        backend = wafv2_backends[account_id][region_name]
        acl = backend.create_web_acl(
            props["Name"], props["VisibilityConfig"], props["DefaultAction"], props["Scope"],
            props.get("Description", ""), _tags(props), props.get("Rules", []),
            None, None, None, props.get("CustomResponseBodies"), None,
        )
        return cls(acl.name, acl.id, props["Scope"], acl.arn)

    @staticmethod
    def remove(account_id: str, region_name: str, physical_id: str) -> None:
        name, wacl_id, scope = physical_id.split("|")
        backend = wafv2_backends[account_id][region_name]
        acl = backend.get_web_acl(None, name, wacl_id)
        backend.delete_web_acl(name, scope, wacl_id, acl.lock_token)


class WafIpSet(BackendModel, CloudFormationModel):
    ATTRIBUTES = ("Arn", "Id")

    def __init__(self, name: str, set_id: str, scope: str, arn: str):
        self.name, self.set_id, self.scope, self.arn = name, set_id, scope, arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::WAFv2::IPSet"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        return f"{self.name}|{self.set_id}|{self.scope}"

    def attributes(self) -> dict[str, str]:
        return {"Arn": self.arn, "Id": self.set_id}

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> "WafIpSet":
        props = cloudformation_json["Properties"]
        backend = wafv2_backends[account_id][region_name]
        ip_set = backend.create_ip_set(
            props["Name"], props["Scope"], props.get("Description", ""), props["IPAddressVersion"],
            props.get("Addresses", []), _tags(props),
        )
        return cls(ip_set.name, ip_set.ip_set_id, props["Scope"], ip_set.arn)

    @staticmethod
    def remove(account_id: str, region_name: str, physical_id: str) -> None:
        name, set_id, scope = physical_id.split("|")
        backend = wafv2_backends[account_id][region_name]
        ip_set = backend.get_ip_set(name, scope, set_id)
        backend.delete_ip_set(name, scope, set_id, ip_set.lock_token)


class WafWebAclAssociation(BackendModel, CloudFormationModel):
    ATTRIBUTES = ()

    def __init__(self, web_acl_arn: str, resource_arn: str):
        self.web_acl_arn, self.resource_arn = web_acl_arn, resource_arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::WAFv2::WebACLAssociation"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return f"{self.web_acl_arn}|{self.resource_arn}"

    def attributes(self) -> dict[str, str]:
        return {}

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> "WafWebAclAssociation":
        props = cloudformation_json["Properties"]
        wafv2_backends[account_id][region_name].associate_web_acl(props["WebACLArn"], props["ResourceArn"])
        return cls(props["WebACLArn"], props["ResourceArn"])

    @staticmethod
    def remove(account_id: str, region_name: str, physical_id: str) -> None:
        _, _, resource_arn = physical_id.partition("|")
        wafv2_backends[account_id][region_name].disassociate_web_acl(resource_arn)


# moto creates a change set's new resources in template order, following `Ref`s but not
# `DependsOn` (its `create_stack` path honours both). CloudFormation honours `DependsOn`
# everywhere, and the internet-facing stack needs it: its Deployment must come after the
# Methods, which it does not reference. This orders the "Add" list the way CloudFormation
# would, before moto walks it.

from moto.cloudformation.parsing import ResourceMap  # noqa: E402


def _dependency_order(resources: dict[str, Any]) -> list[str]:
    order: list[str] = []

    def visit(name: str, seen: tuple[str, ...] = ()) -> None:
        if name in order or name in seen or name not in resources:
            return
        depends = resources[name].get("DependsOn", [])
        for dependency in [depends] if isinstance(depends, str) else depends:
            visit(dependency, (*seen, name))
        order.append(name)

    for name in resources:
        visit(name)
    return order


_build_resource_diff = ResourceMap.build_resource_diff


def _ordered_resource_diff(self: ResourceMap, template: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    diff = _build_resource_diff(self, template, *args, **kwargs)
    order = _dependency_order(template.get("Resources", {}))
    diff["Add"] = sorted(diff["Add"], key=lambda name: order.index(name) if name in order else len(order))
    return diff


ResourceMap.build_resource_diff = _ordered_resource_diff  # type: ignore[method-assign]


# moto's AWS::ApiGateway::RestApi model cannot be deleted: deleting its stack leaves the
# REST API behind (mcp-deploy's teardown verification found it). CloudFormation deletes
# it, and with it its resources, methods, deployments and stages.

from moto.apigateway.models import RestAPI  # noqa: E402


def _delete_rest_api(self: RestAPI, account_id: str, region_name: str) -> None:
    try:
        apigateway_backends[account_id][region_name].delete_rest_api(self.id)
    except Exception:  # noqa: BLE001 - already gone: nothing is left
        pass


RestAPI.delete = _delete_rest_api  # type: ignore[attr-defined]
