"""Container registry policy: no admin user (identities pull images, not a shared password)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from policy.common import prop, report_resource

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
