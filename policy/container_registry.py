"""Container registry policies: no admin user (identities pull images, not a shared
password); in production, zone redundancy and a retention policy for untagged manifests."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from policy.posture import is_production
from policy.violations import prop, report_resource

REGISTRY = "azure-native:containerregistry:Registry"


def validate_admin_user(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The registry's admin user (a shared username and password) stays off."""
    if args.resource_type != REGISTRY:
        return
    # Azure's default is off; only an explicit true turns it on.
    if prop(args.props, "adminUserEnabled") is True:
        report_resource(
            args,
            report,
            "adminUserEnabled is true: a shared password grants push and pull.",
            "set admin_user_enabled=False and grant AcrPull/AcrPush to identities.",
        )


ADMIN_USER_DISABLED = ResourceValidationPolicy(
    name="container-registry-admin-user-disabled",
    description="Container registries have the admin user disabled.",
    validate=validate_admin_user,
)


def validate_zone_redundancy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """In production, the registry is declared zone-redundant (fixed at creation)."""
    if args.resource_type != REGISTRY or not is_production(args.urn, args.stack_tags):
        return
    # https://learn.microsoft.com/azure/container-registry/zone-redundancy
    zone = prop(args.props, "zoneRedundancy")
    if zone != "Enabled":
        report_resource(
            args,
            report,
            f"this is a production stack and zoneRedundancy is {zone!r}, not 'Enabled' "
            "(CKV_AZURE_233); Azure sets it only when the registry is created.",
            "set azureml-dask:containerRegistry.zoneRedundancy: Enabled (Premium; an existing "
            "registry is replaced, and Azure ML rebuilds its images).",
        )


def validate_retention_policy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """In production, untagged manifests are deleted after a retention period."""
    if args.resource_type != REGISTRY or not is_production(args.urn, args.stack_tags):
        return
    # https://learn.microsoft.com/azure/container-registry/container-registry-retention-policy
    if prop(args.props, "policies", "retentionPolicy", "status") != "enabled":
        report_resource(
            args,
            report,
            "this is a production stack and the registry has no enabled retention policy: "
            "untagged manifests are kept forever (CKV_AZURE_167).",
            "set azureml-dask:containerRegistry.retentionPolicyDays (Premium).",
        )


ZONE_REDUNDANT_IN_PRODUCTION = ResourceValidationPolicy(
    name="container-registry-zone-redundant-in-production",
    description="In production, container registries are declared zone-redundant.",
    validate=validate_zone_redundancy,
)
RETENTION_POLICY_IN_PRODUCTION = ResourceValidationPolicy(
    name="container-registry-retention-policy-in-production",
    description="In production, container registries delete untagged manifests after a while.",
    validate=validate_retention_policy,
)
