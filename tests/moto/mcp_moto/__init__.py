"""Test-side extensions of moto for mcp-deploy's tests (see lambda_url.py)."""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException


class BackendModel:
    """What the CloudFormation models here share, as a mixin: moto registers only
    direct subclasses of `CloudFormationModel`, so a model is declared
    `class M(BackendModel, CloudFormationModel)`.

    A model lists its `ATTRIBUTES`, gives their values in `attributes()`, and deletes
    its backend object by physical id in `remove(account_id, region_name, physical_id)`.
    An update replaces the object; a deletion of something already gone (stack
    deletion runs in no particular order) is not an error.
    """

    ATTRIBUTES: tuple[str, ...] = ()

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def attributes(self) -> dict[str, str]:
        raise NotImplementedError

    def get_cfn_attribute(self, attribute_name: str) -> str:
        values = self.attributes()
        if attribute_name not in values:
            raise UnformattedGetAttTemplateException()
        return values[attribute_name]

    @staticmethod
    def remove(account_id: str, region_name: str, physical_id: str) -> None:
        raise NotImplementedError

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any],
        account_id: str, region_name: str,
    ) -> Any:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(  # type: ignore[attr-defined]
            new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
    ) -> None:
        cls._quietly(account_id, region_name, resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        self._quietly(account_id, region_name, self.physical_resource_id)  # type: ignore[attr-defined]

    @classmethod
    def _quietly(cls, account_id: str, region_name: str, physical_id: str) -> None:
        try:
            cls.remove(account_id, region_name, physical_id)
        except Exception:  # noqa: BLE001 - any "not found" shape means nothing is left
            pass

    def is_created(self) -> bool:
        return True
