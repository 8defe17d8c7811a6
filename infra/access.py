"""Access: built-in role GUIDs (one table), identities, service principal, role assignments."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import pulumi
import pulumi_azuread as azuread
from pulumi_azure_native import authorization, keyvault, managedidentity

from infra.placement import Placement
from infra.settings import GroupSettings, ServicePrincipalSettings

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
    "AcrPush": "8311e382-0749-4cb8-b61a-304f252e45ec",
    # Read keys, wrap and unwrap: what a customer-managed key's user needs.
    # https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security#key-vault-crypto-service-encryption-user
    "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
}

# Which workspace role each configured group list receives.
GROUP_ROLES: dict[str, str] = {
    "data_scientists": "AzureML Data Scientist",
    "compute_operators": "AzureML Compute Operator",
    "readers": "Reader",
}

# Fixed namespace for role assignment names, so the same assignment always gets the same GUID.
ROLE_ASSIGNMENT_NAMESPACE = uuid.UUID("3d0c6d0e-5b8e-4f5e-9c1b-6a7f2f0e9a11")

SERVICE_PRINCIPAL_SECRET_NAME = "service-principal-client-secret"
"""Key vault secret holding the service principal's client secret."""


def secret_expiry(end_date: str) -> int:
    """Key Vault's `attributes.expires` for a password ending on `end_date` (YYYY-MM-DD).

    Seconds since 1970-01-01T00:00:00Z, the password's own end (`T00:00:00Z` that day).
    https://learn.microsoft.com/azure/key-vault/secrets/about-secrets#secret-attributes
    """
    return int(datetime.combine(date.fromisoformat(end_date), time(), tzinfo=UTC).timestamp())


def password_end(end_date: str) -> str:
    """The RFC 3339 end date Entra ID takes for an application password."""
    return f"{end_date}T00:00:00Z"


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


def entra_tags(tags: Mapping[str, str]) -> list[str]:
    """Azure tags as Entra ID tags, which are plain strings: `key:value`."""
    return [f"{k}:{v}" for k, v in tags.items()]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def assign_role(
    resource_name: str,
    *,
    role: str,
    scope: pulumi.Input[str],
    principal_id: pulumi.Input[str],
    principal_type: str,
    subscription_id: pulumi.Input[str],
    parent: pulumi.Resource,
) -> authorization.RoleAssignment:
    """Assign a built-in role, with a deterministic name and an explicit principal type.

    `principal_type` avoids PrincipalNotFound while a new identity replicates through
    Entra ID (`ServicePrincipal` is also right for managed identities).
    """
    definition = pulumi.Output.from_input(subscription_id).apply(
        lambda sub: role_definition_id(sub, role)
    )
    name = pulumi.Output.all(scope, principal_id, definition).apply(
        lambda v: role_assignment_name(v[0], v[1], v[2])
    )
    return authorization.RoleAssignment(
        f"{resource_name}-{_slug(role)}",
        role_assignment_name=name,
        scope=scope,
        principal_id=principal_id,
        principal_type=principal_type,
        role_definition_id=definition,
        opts=pulumi.ResourceOptions(parent=parent),
    )


@dataclass(frozen=True)
class ServicePrincipalCredentials:
    """What a datastore needs to authenticate as the service principal."""

    client_id: pulumi.Output[str]
    object_id: pulumi.Output[str]
    client_secret: pulumi.Output[str]  # always a Pulumi secret


class Access(pulumi.ComponentResource):
    """The compute identity, the optional service principal, and every role assignment."""

    compute_identity: managedidentity.UserAssignedIdentity
    service_principal: ServicePrincipalCredentials | None
    role_assignments: list[authorization.RoleAssignment]
    compute_identity_role_assignments: list[authorization.RoleAssignment]

    def __init__(
        self,
        name: str,
        *,
        identity_name: str,
        service_principal: ServicePrincipalSettings,
        groups: GroupSettings,
        data_lake_id: pulumi.Input[str],
        workspace_id: pulumi.Input[str],
        container_registry_id: pulumi.Input[str],
        image_build_compute: str | None,
        workspace_principal_id: pulumi.Input[str] | None,
        key_vault_name: pulumi.Input[str],
        subscription_id: pulumi.Input[str],
        deployer_object_id: pulumi.Input[str],
        placement: Placement,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("azureml-dask:access:Access", name, None, opts)
        self.role_assignments = []

        def grant(
            resource_name: str,
            role: str,
            scope: pulumi.Input[str],
            principal_id: pulumi.Input[str],
            principal_type: str,
        ) -> None:
            self.role_assignments.append(
                assign_role(
                    resource_name,
                    role=role,
                    scope=scope,
                    principal_id=principal_id,
                    principal_type=principal_type,
                    subscription_id=subscription_id,
                    parent=self,
                )
            )

        # One identity for all compute clusters: jobs read and write the lake with no keys.
        self.compute_identity = managedidentity.UserAssignedIdentity(
            "compute-identity",
            resource_name_=identity_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=dict(placement.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        identity = self.compute_identity.principal_id
        grant(
            "compute-identity",
            "Storage Blob Data Contributor",
            data_lake_id,
            identity,
            "ServicePrincipal",
        )
        # Only a system-assigned cluster identity gets AcrPull on the workspace registry
        # automatically; with the admin user off, a user-assigned one must be granted it.
        # https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication#scenario-azure-container-registry-without-admin-user
        grant("compute-identity", "AcrPull", container_registry_id, identity, "ServicePrincipal")
        if image_build_compute is not None:
            # The image-build cluster pushes the images it builds to the workspace registry.
            grant(
                "compute-identity", "AcrPush", container_registry_id, identity, "ServicePrincipal"
            )
        self.compute_identity_role_assignments = list(self.role_assignments)

        self.service_principal = self._service_principal(
            service_principal, key_vault_name, deployer_object_id, placement
        )
        if self.service_principal is not None:
            grant(
                "service-principal",
                "Storage Blob Data Contributor",
                data_lake_id,
                self.service_principal.object_id,
                "ServicePrincipal",
            )
            grant(
                "service-principal",
                service_principal.workspace_role,
                workspace_id,
                self.service_principal.object_id,
                "ServicePrincipal",
            )

        for field_name, role in GROUP_ROLES.items():
            for object_id in getattr(groups, field_name):
                grant(f"group-{object_id}", role, workspace_id, object_id, "Group")
        # Identity-based datastores use the caller's own identity on the lake.
        # https://learn.microsoft.com/azure/machine-learning/how-to-datastore#create-an-azure-data-lake-storage-gen2-datastore
        for object_id in groups.data_scientists:
            grant(
                f"group-{object_id}-data-lake",
                groups.data_scientists_data_lake_role,
                data_lake_id,
                object_id,
                "Group",
            )
        if workspace_principal_id is not None:
            # Studio previews data in a private network through the workspace identity.
            # https://learn.microsoft.com/azure/machine-learning/how-to-enable-studio-virtual-network
            grant(
                "workspace-identity",
                "Storage Blob Data Reader",
                data_lake_id,
                workspace_principal_id,
                "ServicePrincipal",
            )

        self.register_outputs({"computeIdentityClientId": self.compute_identity.client_id})

    def _service_principal(
        self,
        settings: ServicePrincipalSettings,
        key_vault_name: pulumi.Input[str],
        deployer_object_id: pulumi.Input[str],
        placement: Placement,
    ) -> ServicePrincipalCredentials | None:
        child = pulumi.ResourceOptions(parent=self)
        if settings.mode == "create":
            application = azuread.Application(
                "service-principal-application",
                display_name=settings.display_name,
                owners=[deployer_object_id],
                tags=entra_tags(placement.tags),
                opts=child,
            )
            principal = azuread.ServicePrincipal(
                "service-principal",
                client_id=application.client_id,
                owners=[deployer_object_id],
                tags=entra_tags(placement.tags),
                opts=child,
            )
            password = azuread.ApplicationPassword(
                "service-principal-password",
                application_id=application.id,
                display_name="managed by Pulumi (azureml-dask)",
                end_date=password_end(settings.password_end_date),
                opts=child,
            )
            credentials = ServicePrincipalCredentials(
                client_id=application.client_id,
                object_id=principal.object_id,
                client_secret=pulumi.Output.secret(password.value),
            )
        elif settings.mode == "existing" and settings.client_secret is not None:
            credentials = ServicePrincipalCredentials(
                client_id=pulumi.Output.from_input(settings.client_id),
                object_id=pulumi.Output.from_input(settings.object_id),
                client_secret=pulumi.Output.secret(settings.client_secret),
            )
        else:
            return None
        # Kept in the key vault so people and pipelines can fetch it with their own RBAC; it
        # expires with the password, so the vault (and its near-expiry event) tells when.
        self.client_secret = keyvault.Secret(
            "service-principal-secret",
            secret_name=SERVICE_PRINCIPAL_SECRET_NAME,
            vault_name=key_vault_name,
            resource_group_name=placement.resource_group_name,
            properties=keyvault.SecretPropertiesArgs(
                value=credentials.client_secret,
                # Key Vault's free-form label for the value: which application it signs in.
                content_type=credentials.client_id.apply(lambda c: f"client secret of {c}"),
                attributes=keyvault.SecretAttributesArgs(
                    expires=secret_expiry(settings.password_end_date)
                ),
            ),
            tags=dict(placement.tags),
            opts=child,
        )
        return credentials
