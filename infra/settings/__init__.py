"""Typed, validated stack settings: the only place that reads stack configuration.

`read_settings()` collects the stack's config once and `parse_settings()` validates it
with the pydantic models in `models.py` into frozen objects, or raises one `SettingsError`
listing every problem (the key, the bad value, what is allowed; see `errors.py`). Nothing
else in `infra/` touches `pulumi.Config`; components receive the plain values defined here.

To add a setting: add a field with `setting(...)` to the section's model. Unknown keys are
rejected, so a section only accepts what its model declares.
"""

from __future__ import annotations

from pydantic import BaseModel

from infra.settings.errors import SettingsError, known_keys
from infra.settings.fields import PROJECT
from infra.settings.models import (
    CONTAINER_REGISTRY_SKUS,
    DATA_LAKE_ROLES,
    DEFAULT_FQDN_RULES,
    FIREWALL_SKUS,
    ISOLATION_MODES,
    KEY_VAULT_SKUS,
    MAX_CLUSTER_NODES,
    MIN_PRIVATE_ENDPOINT_SUBNET_PREFIX,
    PUBLIC_NETWORK_ACCESS,
    REQUIRED_TAGS,
    RESERVED_DATASTORE_NAMES,
    RSA_KEY_SIZES,
    SERVICE_PRINCIPAL_MODES,
    STORAGE_SKUS,
    VM_PRIORITIES,
    WORKSPACE_ROLES,
    ComputeClusterSettings,
    ComputeInstanceSettings,
    ContainerRegistrySettings,
    DataLakeSettings,
    EncryptionSettings,
    GroupSettings,
    KeyVaultSettings,
    LogAnalyticsSettings,
    ManagedNetworkSettings,
    MonitoringSettings,
    ServicePrincipalSettings,
    ServiceTagRuleSettings,
    Settings,
    StorageAccountSettings,
    VirtualNetworkSettings,
    WorkspaceSettings,
    datastore_name,
)
from infra.settings.read import KNOWN_NAMESPACES, SECRET_NAME, parse_settings, read_settings

__all__ = [
    "CONTAINER_REGISTRY_SKUS",
    "DATA_LAKE_ROLES",
    "DEFAULT_FQDN_RULES",
    "FIREWALL_SKUS",
    "ISOLATION_MODES",
    "KEY_VAULT_SKUS",
    "KNOWN_NAMESPACES",
    "MAX_CLUSTER_NODES",
    "MIN_PRIVATE_ENDPOINT_SUBNET_PREFIX",
    "PROJECT",
    "PUBLIC_NETWORK_ACCESS",
    "REQUIRED_TAGS",
    "RESERVED_DATASTORE_NAMES",
    "RSA_KEY_SIZES",
    "SERVICE_PRINCIPAL_MODES",
    "STORAGE_SKUS",
    "VM_PRIORITIES",
    "WORKSPACE_ROLES",
    "ComputeClusterSettings",
    "ComputeInstanceSettings",
    "ContainerRegistrySettings",
    "DataLakeSettings",
    "EncryptionSettings",
    "GroupSettings",
    "KeyVaultSettings",
    "LogAnalyticsSettings",
    "ManagedNetworkSettings",
    "MonitoringSettings",
    "ServicePrincipalSettings",
    "ServiceTagRuleSettings",
    "Settings",
    "SettingsError",
    "StorageAccountSettings",
    "VirtualNetworkSettings",
    "WorkspaceSettings",
    "datastore_name",
    "known_keys",
    "parse_settings",
    "read_settings",
    "setting_keys",
]


def setting_keys() -> list[str]:
    """Every settings key the models declare, e.g. `computeClusters[].vmSize` (docs, tests)."""
    from infra.settings.errors import _model_of

    keys: list[str] = [SECRET_NAME]

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            if extra.get("internal"):
                continue
            key = f"{prefix}{field.alias or name}"
            keys.append(key)
            inner = _model_of(field.annotation)
            if inner is not None:
                many = field.annotation is not inner
                walk(inner, f"{key}[]." if many else f"{key}.")

    walk(Settings, "")
    return sorted(set(keys))
