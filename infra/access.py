"""Access: built-in role GUIDs (one table), identities, service principal, role assignments."""

from __future__ import annotations

import uuid

import pulumi

# Azure built-in role definition GUIDs: the one table every assignment reads.
ROLES: dict[str, str] = {
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "AzureML Data Scientist": "f6c7c914-8db3-469d-8ca1-694a8f32e121",
    "AzureML Compute Operator": "e503ece1-11d0-4e8e-8e2c-7a6c3bf38815",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
}

# Fixed namespace for role assignment names, so the same assignment always gets the same GUID.
ROLE_ASSIGNMENT_NAMESPACE = uuid.UUID("3d0c6d0e-5b8e-4f5e-9c1b-6a7f2f0e9a11")


def role_definition_id(subscription_id: str, role: str) -> str:
    """The full role definition id Azure expects for a built-in role name."""
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{ROLES[role]}"
    )


def role_name_for_definition_id(definition_id: str) -> str | None:
    """The built-in role name for a role definition id, if it is in `ROLES`."""
    guid = definition_id.rstrip("/").rsplit("/", 1)[-1].lower()
    return next((name for name, g in ROLES.items() if g == guid), None)


def role_assignment_name(scope: str, principal_id: str, role_definition: str) -> str:
    """A deterministic GUID for an assignment: re-creating it never hits RoleAssignmentExists."""
    key = f"{scope.lower()}|{principal_id.lower()}|{role_definition.lower()}"
    return str(uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, key))


__all__ = [
    "ROLES",
    "pulumi",
    "role_assignment_name",
    "role_definition_id",
    "role_name_for_definition_id",
]
