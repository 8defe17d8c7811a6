"""Tag policy: every taggable Azure resource carries the tags cost and ownership reports use."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from policy.violations import prop, report_resource

REQUIRED_TAGS = ("owner", "costCenter", "environment")
"""Tags every taggable resource must carry with a non-empty value."""

TAGGABLE_TYPES = frozenset(
    {
        "azure-native:resources:ResourceGroup",
        "azure-native:network:NetworkSecurityGroup",
        "azure-native:network:PublicIPAddress",
        "azure-native:network:NatGateway",
        "azure-native:network:VirtualNetwork",
        "azure-native:network:PrivateEndpoint",
        "azure-native:privatedns:PrivateZone",
        "azure-native:privatedns:VirtualNetworkLink",
        "azure-native:storage:StorageAccount",
        "azure-native:keyvault:Vault",
        "azure-native:keyvault:Secret",
        "azure-native:operationalinsights:Workspace",
        "azure-native:applicationinsights:Component",
        "azure-native:monitor:ActionGroup",
        "azure-native:monitor:ScheduledQueryRule",
        "azure-native:containerregistry:Registry",
        "azure-native:machinelearningservices:Workspace",
        "azure-native:machinelearningservices:Compute",
        "azure-native:managedidentity:UserAssignedIdentity",
    }
)
"""Azure resource types with a top-level `tags` property (a test keeps this in step with the
SDK for every type the stacks declare)."""


def validate_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Taggable resources carry owner, costCenter and environment tags."""
    if args.resource_type not in TAGGABLE_TYPES:
        return
    tags = prop(args.props, "tags") or {}
    missing = [t for t in REQUIRED_TAGS if not str(tags.get(t, "")).strip()]
    if missing:
        report_resource(
            args,
            report,
            f"tags {', '.join(missing)} are missing or empty.",
            "pass the stack's tags (Placement.tags) to the resource; set "
            "azureml-dask:tags (owner, costCenter) in the stack file.",
        )


TAGS_PRESENT = ResourceValidationPolicy(
    name="tags-present",
    description=f"Taggable resources carry the tags {', '.join(REQUIRED_TAGS)}.",
    validate=validate_tags,
)
