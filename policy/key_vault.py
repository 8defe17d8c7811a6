"""Key vault policy: RBAC authorization, soft delete, purge protection in production."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from policy.posture import is_production
from policy.violations import prop, report_resource

VAULT = "azure-native:keyvault:Vault"


def validate_key_vault(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Vaults use Azure RBAC and soft delete; production vaults also purge protection."""
    if args.resource_type != VAULT:
        return
    properties = prop(args.props, "properties")
    problems: list[tuple[str, str]] = []
    if prop(properties, "enableRbacAuthorization") is not True:
        problems.append(
            (
                "enableRbacAuthorization is not true, so access policies (not Azure RBAC) "
                "decide who reads secrets.",
                "set properties.enable_rbac_authorization=True.",
            )
        )
    if prop(properties, "enableSoftDelete") is not True:
        problems.append(
            (
                "enableSoftDelete is not true: a deleted vault or secret could not be recovered.",
                "set properties.enable_soft_delete=True.",
            )
        )
    if is_production(args.urn, args.stack_tags) and (
        prop(properties, "enablePurgeProtection") is not True
    ):
        problems.append(
            (
                "this is a production stack and enablePurgeProtection is not true: anyone "
                "with delete rights could purge the vault and its secrets for good.",
                "set azureml-dask:keyVault.enablePurgeProtection: true in the stack file "
                "(it cannot be turned off again).",
            )
        )
    for problem, fix in problems:
        report_resource(
            args,
            report,
            problem,
            fix,
        )


KEY_VAULT = ResourceValidationPolicy(
    name="key-vault-rbac-soft-delete",
    description="Key vaults use RBAC authorization and soft delete; purge protection in "
    "production.",
    validate=validate_key_vault,
)
