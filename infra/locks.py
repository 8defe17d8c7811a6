"""`CanNotDelete` management locks: Azure itself refuses to delete what they cover.

Pulumi's `protect` only guards against this program; a lock also stops the portal, the CLI
and scripts. A lock on the resource group covers everything in it, so while it exists any
change that deletes or replaces a resource there fails: remove the lock deliberately first.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pulumi_azure_native import authorization

LOCK_LEVEL = "CanNotDelete"
LOCK_NAME = "do-not-delete"


class Locks(pulumi.ComponentResource):
    """A `CanNotDelete` lock on the resource group and on each listed resource."""

    resource_group_lock: authorization.ManagementLockAtResourceGroupLevel
    resource_locks: dict[str, authorization.ManagementLockByScope]

    def __init__(
        self,
        name: str,
        *,
        resource_group_name: pulumi.Input[str],
        resources: Mapping[str, pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`resources` maps a short key (e.g. "data-lake") to the resource id to lock."""
        super().__init__("azureml-dask:locks:Locks", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.resource_group_lock = authorization.ManagementLockAtResourceGroupLevel(
            "lock-resource-group",
            lock_name=LOCK_NAME,
            level=LOCK_LEVEL,
            resource_group_name=resource_group_name,
            notes="Protected stack: remove this lock deliberately before deleting anything here.",
            opts=child,
        )
        self.resource_locks = {
            key: authorization.ManagementLockByScope(
                f"lock-{key}",
                lock_name=LOCK_NAME,
                level=LOCK_LEVEL,
                scope=resource_id,
                notes=f"Protected stack: the {key.replace('-', ' ')} holds data that cannot "
                "be re-created.",
                opts=child,
            )
            for key, resource_id in resources.items()
        }
        self.register_outputs({})
