"""Storage policies: encrypted transport, no anonymous access, a real data lake."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from policy.common import prop, report_resource

STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_CONTAINER = "azure-native:storage:BlobContainer"
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
