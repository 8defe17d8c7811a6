"""`CanNotDelete` management locks: Azure itself refuses to delete what they cover.

Pulumi's `protect` only guards against this program; a lock also stops the portal, the CLI
and scripts. Locks go on the stateful resources one by one, never on the resource group: a
delete lock on the workspace's group stops compute cluster scaling (Azure deletes nodes) and
blocks the delete-before-replace of clusters.
# https://learn.microsoft.com/azure/machine-learning/how-to-create-attach-compute-cluster#limitations
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pulumi_azure_native import authorization

LOCK_LEVEL = "CanNotDelete"
LOCK_NAME = "do-not-delete"


class Locks(pulumi.ComponentResource):
    """A `CanNotDelete` lock on each listed resource (never on the resource group)."""

    resource_locks: dict[str, authorization.ManagementLockByScope]

    def __init__(
        self,
        name: str,
        *,
        resources: Mapping[str, pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`resources` maps a short key (e.g. "data-lake") to the resource id to lock."""
        super().__init__("azureml-dask:locks:Locks", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
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
