"""Teaches moto 5.2.5 CloudFormation's `AWS::SecretsManager::Secret`.

moto serves the Secrets Manager API but its CloudFormation has no model for secrets,
so a stack's secret was never made and a teardown would "verify" it gone without proof.
This model makes the secret through moto's own `CreateSecret`, its value from moto's
`GetRandomPassword` with the template's `GenerateSecretString` options (as
CloudFormation does on AWS: the value is never in the template), or the template's
`SecretString`. Its physical id is the secret's ARN, as on AWS (the secret's `Ref`).

On stack deletion CloudFormation deletes a secret without a recovery window
(ForceDeleteWithoutRecovery: cloudformation-coverage-roadmap #838 and #1999 ask for a
window and say there is none), so this does the same: DescribeSecret then answers
ResourceNotFoundException.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.moto_api._internal import mock_random
from moto.secretsmanager.models import secretsmanager_backends

from mcp_moto import BackendModel


def _generated(options: dict[str, Any], backend: Any) -> str:
    """A value as GenerateSecretString asks: a random string, or a JSON object of
    SecretStringTemplate with the random string under GenerateStringKey."""
    password = json.loads(backend.get_random_password(
        password_length=int(options.get("PasswordLength", 32)),
        exclude_characters=options.get("ExcludeCharacters", ""),
        exclude_numbers=bool(options.get("ExcludeNumbers", False)),
        exclude_punctuation=bool(options.get("ExcludePunctuation", False)),
        exclude_uppercase=bool(options.get("ExcludeUppercase", False)),
        exclude_lowercase=bool(options.get("ExcludeLowercase", False)),
        include_space=bool(options.get("IncludeSpace", False)),
        require_each_included_type=bool(options.get("RequireEachIncludedType", True)),
    ))["RandomPassword"]
    if "SecretStringTemplate" in options:
        value = json.loads(options["SecretStringTemplate"])
        value[options["GenerateStringKey"]] = password
        return json.dumps(value)
    return password


class SecretsManagerSecret(BackendModel, CloudFormationModel):
    ATTRIBUTES = ("Id",)

    def __init__(self, arn: str):
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    def attributes(self) -> dict[str, str]:
        return {"Id": self.arn}

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> "SecretsManagerSecret":
        props = cloudformation_json.get("Properties", {})
        backend = secretsmanager_backends[account_id][region_name]
        name = props.get("Name") or f"{resource_name}-{mock_random.get_random_string(12)}"
        if "GenerateSecretString" in props:
            value = _generated(props["GenerateSecretString"], backend)
        else:
            value = props.get("SecretString")
        created = backend.create_secret(
            name=name, secret_string=value, secret_binary=None, description=props.get("Description"),
            tags=props.get("Tags", []), kms_key_id=props.get("KmsKeyId"), client_request_token=None,
            replica_regions=[], force_overwrite=False,
        )
        return cls(json.loads(created)["ARN"])

    @staticmethod
    def remove(account_id: str, region_name: str, physical_id: str) -> None:
        secretsmanager_backends[account_id][region_name].delete_secret(
            physical_id, recovery_window_in_days=None, force_delete_without_recovery=True)
