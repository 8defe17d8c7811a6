"""Storage policies: encrypted transport, no anonymous access, a real data lake, and the
posture an external scanner (checkov) asks of prod: no local users, SAS tokens with an
upper lifetime, soft delete, double encryption in production."""

from __future__ import annotations

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.posture import is_production
from policy.violations import prop, report_resource, report_stack_resource

STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_CONTAINER = "azure-native:storage:BlobContainer"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
DATA_LAKE_LOGICAL_NAME = "data-lake"
"""The stack's logical name for its ADLS Gen2 account (`infra/storage.py`).

Renaming it would replace the account and its data, so it is as stable as the data itself.
"""


def validate_https_and_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Storage accounts accept HTTPS only, with TLS 1.2 at least."""
    if args.resource_type != STORAGE_ACCOUNT:
        return
    https_only = prop(args.props, "enableHttpsTrafficOnly")
    if https_only is not True:
        report_resource(
            args,
            report,
            f"enableHttpsTrafficOnly is {https_only!r}, not true: plain HTTP must be refused "
            "explicitly, not left to a default.",
            "set enable_https_traffic_only=True on the storage account.",
        )
    tls = prop(args.props, "minimumTlsVersion")
    if tls != "TLS1_2":
        report_resource(
            args,
            report,
            f"minimumTlsVersion is {tls!r}; clients could negotiate TLS older than 1.2.",
            'set minimum_tls_version="TLS1_2" on the storage account.',
        )


def validate_no_public_blob_access(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No storage account allows anonymous blob access; no container is public."""
    if args.resource_type == STORAGE_ACCOUNT:
        if prop(args.props, "allowBlobPublicAccess") is not False:
            report_resource(
                args,
                report,
                "allowBlobPublicAccess is not false, so containers may be made public.",
                "set allow_blob_public_access=False on the storage account.",
            )
    elif args.resource_type == BLOB_CONTAINER:
        access = prop(args.props, "publicAccess")
        if access not in (None, "None"):
            report_resource(
                args,
                report,
                f"publicAccess is {access!r}: anyone on the internet can read it.",
                "set public_access=storage.PublicAccess.NONE (or leave it unset).",
            )


def validate_data_lake_namespace(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The data lake account has a hierarchical namespace (ADLS Gen2)."""
    if args.resource_type != STORAGE_ACCOUNT or args.name != DATA_LAKE_LOGICAL_NAME:
        return
    if prop(args.props, "isHnsEnabled") is not True:
        report_resource(
            args,
            report,
            "the data lake has no hierarchical namespace (isHnsEnabled is not true), so it "
            "is no ADLS Gen2 account; this cannot be changed after creation.",
            "set is_hns_enabled=True on the data lake (a new account: migrate the data).",
        )


def validate_no_local_users(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Storage accounts turn local users (the identities SFTP clients sign in as) off."""
    if args.resource_type != STORAGE_ACCOUNT:
        return
    # https://learn.microsoft.com/azure/storage/blobs/secure-file-transfer-protocol-support-authorize-access
    if prop(args.props, "isLocalUserEnabled") is not False:
        report_resource(
            args,
            report,
            "isLocalUserEnabled is not false: local users with passwords or SSH keys could "
            "be added beside Entra ID (CKV_AZURE_244).",
            "set is_local_user_enabled=False on the storage account.",
        )


def validate_sas_expiration_policy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """An account that allows shared key has a SAS expiration policy."""
    if args.resource_type != STORAGE_ACCOUNT:
        return
    # Azure's default for allowSharedKeyAccess is true: only an explicit false turns it off.
    # https://learn.microsoft.com/azure/storage/common/sas-expiration-policy
    if prop(args.props, "allowSharedKeyAccess") is False:
        return
    if not prop(args.props, "sasPolicy", "sasExpirationPeriod"):
        report_resource(
            args,
            report,
            "shared key access is on but sasPolicy.sasExpirationPeriod is not set: SAS tokens "
            "signed with the account key may be valid for any length of time (CKV2_AZURE_41).",
            "pass sas_policy=storage.SasPolicyArgs(sas_expiration_period=..., "
            "expiration_action=...), or set allow_shared_key_access=False.",
        )


def validate_soft_delete(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A storage account's blob service keeps deleted blobs and containers recoverable."""
    if args.resource_type != BLOB_SERVICE:
        return
    # https://learn.microsoft.com/azure/storage/blobs/soft-delete-blob-overview
    for policy, what in (
        ("deleteRetentionPolicy", "blobs"),
        ("containerDeleteRetentionPolicy", "containers"),
    ):
        if prop(args.props, policy, "enabled") is not True:
            report_resource(
                args,
                report,
                f"{policy}.enabled is not true: deleted {what} are gone at once (CKV2_AZURE_38).",
                f"set {policy}=storage.DeleteRetentionPolicyArgs(enabled=True, days=...).",
            )


def validate_every_account_has_soft_delete(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    """Every storage account has a blob service resource (whose soft delete the resource
    policy above checks); without one, the account runs on Azure's defaults: none."""
    with_service = {
        str(prop(r.props, "accountName") or "").lower()
        for r in args.resources
        if r.resource_type == BLOB_SERVICE
    }
    for account in args.resources:
        if account.resource_type != STORAGE_ACCOUNT:
            continue
        if str(prop(account.props, "name") or "").lower() not in with_service:
            report_stack_resource(
                report,
                account,
                "no BlobServiceProperties is declared for it, so blob and container soft "
                "delete stay off (CKV2_AZURE_38).",
                "declare storage.BlobServiceProperties for the account with "
                "delete_retention_policy and container_delete_retention_policy.",
            )


def validate_infrastructure_encryption(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    """In production, storage accounts encrypt data at rest twice (infrastructure encryption)."""
    if args.resource_type != STORAGE_ACCOUNT or not is_production(args.urn, args.stack_tags):
        return
    # https://learn.microsoft.com/azure/storage/common/infrastructure-encryption-enable
    if prop(args.props, "encryption", "requireInfrastructureEncryption") is not True:
        report_resource(
            args,
            report,
            "this is a production stack and encryption.requireInfrastructureEncryption is not "
            "true; Azure sets it only when the account is created.",
            "set azureml-dask:storageAccount.requireInfrastructureEncryption and "
            "azureml-dask:dataLake.requireInfrastructureEncryption to true (an existing account "
            "is replaced: migrate its data first).",
        )


HTTPS_AND_TLS = ResourceValidationPolicy(
    name="storage-https-only-tls12",
    description="Storage accounts accept HTTPS only, with TLS 1.2 or newer.",
    validate=validate_https_and_tls,
)
NO_PUBLIC_BLOB_ACCESS = ResourceValidationPolicy(
    name="storage-no-public-blob-access",
    description="No storage account allows anonymous blob access and no container is public.",
    validate=validate_no_public_blob_access,
)
DATA_LAKE_NAMESPACE = ResourceValidationPolicy(
    name="data-lake-hierarchical-namespace",
    description="The data lake is an ADLS Gen2 account (hierarchical namespace on).",
    validate=validate_data_lake_namespace,
)
NO_LOCAL_USERS = ResourceValidationPolicy(
    name="storage-local-users-disabled",
    description="Storage accounts have local users (SFTP) turned off.",
    validate=validate_no_local_users,
)
SAS_EXPIRATION_POLICY = ResourceValidationPolicy(
    name="storage-shared-key-sas-expiration-policy",
    description="Storage accounts that allow shared key have a SAS expiration policy.",
    validate=validate_sas_expiration_policy,
)
SOFT_DELETE = ResourceValidationPolicy(
    name="storage-blob-container-soft-delete",
    description="Blob services keep deleted blobs and containers recoverable (soft delete).",
    validate=validate_soft_delete,
)
INFRASTRUCTURE_ENCRYPTION = ResourceValidationPolicy(
    name="storage-infrastructure-encryption-in-production",
    description="In production, storage accounts use infrastructure (double) encryption.",
    validate=validate_infrastructure_encryption,
)
EVERY_ACCOUNT_HAS_SOFT_DELETE = StackValidationPolicy(
    name="storage-account-declares-soft-delete",
    description="Every storage account has a blob service with soft delete declared.",
    validate=validate_every_account_has_soft_delete,
)
