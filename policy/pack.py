"""Every policy of the pack, in one list (importable; `__main__.py` serves it)."""

from __future__ import annotations

from pulumi_policy import Policy

from policy import (
    access,
    compute,
    container_registry,
    deployability,
    encryption,
    key_vault,
    private_networking,
    storage,
    tags,
)

PACK_NAME = "azureml-dask-security"

POLICIES: tuple[Policy, ...] = (
    storage.HTTPS_AND_TLS,
    storage.NO_PUBLIC_BLOB_ACCESS,
    storage.DATA_LAKE_NAMESPACE,
    storage.NO_LOCAL_USERS,
    storage.SAS_EXPIRATION_POLICY,
    storage.SOFT_DELETE,
    storage.EVERY_ACCOUNT_HAS_SOFT_DELETE,
    storage.INFRASTRUCTURE_ENCRYPTION,
    key_vault.KEY_VAULT,
    container_registry.ADMIN_USER_DISABLED,
    container_registry.ZONE_REDUNDANT_IN_PRODUCTION,
    container_registry.RETENTION_POLICY_IN_PRODUCTION,
    compute.NO_PUBLIC_ACCESS,
    compute.CLUSTER_SCALE_DOWN,
    compute.INSTANCE_IDLE_SHUTDOWN,
    access.ROLE_ASSIGNMENTS,
    private_networking.PRIVATE_ENDPOINTS,
    tags.TAGS_PRESENT,
    *deployability.POLICIES,
    *encryption.POLICIES,
)
