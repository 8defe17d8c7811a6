"""Role assignment policy: every assignment names its principal type; nobody is made Owner."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from policy.violations import prop, report_resource

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
OWNER_ROLE_ID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal", "ForeignGroup", "Device")


def validate_role_assignment(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Role assignments set principalType and never grant Owner."""
    if args.resource_type != ROLE_ASSIGNMENT:
        return
    problems: list[tuple[str, str]] = []
    principal_type = prop(args.props, "principalType")
    if principal_type not in PRINCIPAL_TYPES:
        problems.append(
            (
                f"principalType is {principal_type!r}; without it Azure may fail with "
                "PrincipalNotFound while a new identity replicates.",
                f"set principal_type to one of {', '.join(PRINCIPAL_TYPES)} "
                "(ServicePrincipal for managed identities).",
            )
        )
    role = str(prop(args.props, "roleDefinitionId") or "")
    if role.rstrip("/").lower().endswith(OWNER_ROLE_ID):
        problems.append(
            (
                "it grants Owner, which includes changing access for everyone else.",
                "grant the least role that does the job (see infra/access.py ROLES).",
            )
        )
    for problem, fix in problems:
        report_resource(
            args,
            report,
            problem,
            fix,
        )


ROLE_ASSIGNMENTS = ResourceValidationPolicy(
    name="role-assignment-principal-type-not-owner",
    description="Role assignments set a principal type and never grant Owner.",
    validate=validate_role_assignment,
)
