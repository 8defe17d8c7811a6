"""Customer-managed keys: the RSA key, the identity that uses it, and what each resource sends.

One key in the stack's key vault encrypts the workspace (and the Cosmos DB, AI Search and
storage Azure creates for it) and the data lake. Azure reaches the key as a user-assigned
identity holding Key Vault Crypto Service Encryption User on the vault (read, wrap, unwrap).
https://learn.microsoft.com/azure/machine-learning/concept-customer-managed-keys
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, keyvault, machinelearningservices, managedidentity
from pulumi_azure_native import storage as azure_storage

from infra.access import assign_role
from infra.placement import Placement
from infra.settings import EncryptionSettings

KEY_NAME = "customer-managed-key"
"""The key's name in the vault."""

ENCRYPTION_ROLE = "Key Vault Crypto Service Encryption User"
# Notify this long before a key version expires (Event Grid `KeyNearExpiry`).
NOTIFY_BEFORE_EXPIRY = "P30D"


class CustomerManagedKey(pulumi.ComponentResource):
    """The RSA key with its rotation policy, and the identity that wraps and unwraps with it."""

    key: keyvault.Key
    identity: managedidentity.UserAssignedIdentity
    role_assignment: authorization.RoleAssignment
    key_vault_id: pulumi.Output[str]
    key_vault_uri: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        settings: EncryptionSettings,
        *,
        key_vault: keyvault.Vault,
        identity_name: str,
        subscription_id: pulumi.Input[str],
        placement: Placement,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("azureml-dask:encryption:CustomerManagedKey", name, None, opts)
        self.key_vault_id = key_vault.id
        self.key_vault_uri = key_vault.properties.vault_uri
        # Rotation makes a new version of the same key; each version created by rotation
        # expires, and Event Grid is told before it does.
        # https://learn.microsoft.com/azure/key-vault/keys/how-to-configure-key-rotation#key-rotation-policy
        self.key = keyvault.Key(
            "customer-managed-key",
            key_name=KEY_NAME,
            vault_name=key_vault.name,
            resource_group_name=placement.resource_group_name,
            properties=keyvault.KeyPropertiesArgs(
                kty=keyvault.JsonWebKeyType.RSA,
                key_size=settings.key_size,
                # No `key_ops` limit, as in Microsoft's set-up: the role already allows only
                # read, wrap and unwrap, and Cosmos DB and AI Search use the key too.
                rotation_policy=keyvault.RotationPolicyArgs(
                    attributes=keyvault.KeyRotationPolicyAttributesArgs(
                        expiry_time=settings.expire_after
                    ),
                    lifetime_actions=[
                        keyvault.LifetimeActionArgs(
                            trigger=keyvault.TriggerArgs(time_after_create=settings.rotate_after),
                            action=keyvault.ActionArgs(
                                type=keyvault.KeyRotationPolicyActionType.ROTATE
                            ),
                        ),
                        keyvault.LifetimeActionArgs(
                            trigger=keyvault.TriggerArgs(time_before_expiry=NOTIFY_BEFORE_EXPIRY),
                            action=keyvault.ActionArgs(
                                type=keyvault.KeyRotationPolicyActionType.NOTIFY
                            ),
                        ),
                    ],
                ),
            ),
            tags=dict(placement.tags),
            # Deleting the key makes everything it encrypts unreadable.
            opts=placement.options(self, stateful=True),
        )
        self.identity = managedidentity.UserAssignedIdentity(
            "encryption-identity",
            resource_name_=identity_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=dict(placement.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security#key-vault-crypto-service-encryption-user
        self.role_assignment = assign_role(
            "encryption-identity",
            role=ENCRYPTION_ROLE,
            scope=key_vault.id,
            principal_id=self.identity.principal_id,
            principal_type="ServicePrincipal",
            subscription_id=subscription_id,
            parent=self,
        )
        self.register_outputs({"keyId": self.key.key_uri_with_version})

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What a resource encrypted with the key waits for: the key and the identity's grant."""
        return [self.key, self.role_assignment]

    def workspace_encryption(self) -> machinelearningservices.EncryptionPropertyArgs:
        """The workspace's `encryption`: the vault, the versioned key URI, and the identity.

        Azure ML takes the key vault's resource id and the key's versioned URI (`key.kid`).
        https://learn.microsoft.com/azure/machine-learning/how-to-setup-customer-managed-keys#create-a-workspace-that-uses-a-customer-managed-key
        """
        return machinelearningservices.EncryptionPropertyArgs(
            status=machinelearningservices.EncryptionStatus.ENABLED,
            identity=machinelearningservices.IdentityForCmkArgs(
                user_assigned_identity=self.identity.id
            ),
            key_vault_properties=machinelearningservices.KeyVaultPropertiesArgs(
                key_vault_arm_id=self.key_vault_id,
                key_identifier=self.key.key_uri_with_version,
                # Documented as "for future use"; `identity` above is what Azure ML uses.
                identity_client_id=self.identity.client_id,
            ),
        )

    def storage_encryption(
        self, require_infrastructure_encryption: bool = False
    ) -> azure_storage.EncryptionArgs:
        """A storage account's `encryption` with the key, reached as the identity (and with
        infrastructure encryption when asked: it is set at creation only).

        No key version: Storage then follows the key's newest version by itself.
        https://learn.microsoft.com/azure/storage/common/customer-managed-keys-overview#update-the-key-version
        """
        enabled = azure_storage.EncryptionServiceArgs(
            enabled=True, key_type=azure_storage.KeyType.ACCOUNT
        )
        return azure_storage.EncryptionArgs(
            key_source=azure_storage.KeySource.MICROSOFT_KEYVAULT,
            key_vault_properties=azure_storage.KeyVaultPropertiesArgs(
                key_name=KEY_NAME, key_vault_uri=self.key_vault_uri
            ),
            encryption_identity=azure_storage.EncryptionIdentityArgs(
                encryption_user_assigned_identity=self.identity.id
            ),
            services=azure_storage.EncryptionServicesArgs(blob=enabled, file=enabled),
            require_infrastructure_encryption=True if require_infrastructure_encryption else None,
        )

    def storage_identity(self) -> azure_storage.IdentityArgs:
        """The storage account's `identity`: the encryption identity, user-assigned."""
        return azure_storage.IdentityArgs(
            type=azure_storage.IdentityType.USER_ASSIGNED,
            user_assigned_identities=[self.identity.id],
        )
