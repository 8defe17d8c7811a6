"""Compute: Azure ML compute clusters (AmlCompute) and personal compute instances."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from infra.placement import Placement
from infra.settings import ComputeClusterSettings, ComputeInstanceSettings

# The service accepts changes to these in place but may silently ignore them: replace instead.
CLUSTER_REPLACE_ON_CHANGES = [
    "properties.properties.vmSize",
    "properties.properties.vmPriority",
    "properties.properties.subnet",
]
INSTANCE_REPLACE_ON_CHANGES = [
    "properties.properties.vmSize",
    "properties.properties.subnet",
]


class Compute(pulumi.ComponentResource):
    """Compute clusters and instances, with no public IPs or SSH.

    They run in the compute subnet (`subnet_id`), or, with `subnet_id=None`, in the
    workspace's managed network, where Azure ML places them and takes no customer subnet;
    no-public-IP nodes are supported there too.
    https://learn.microsoft.com/azure/machine-learning/how-to-managed-network-compute#configure-compute-resources
    """

    clusters: list[ml.Compute]
    instances: list[ml.Compute]

    def __init__(
        self,
        name: str,
        *,
        clusters: tuple[ComputeClusterSettings, ...],
        instances: tuple[ComputeInstanceSettings, ...],
        workspace_name: pulumi.Input[str],
        subnet_id: pulumi.Input[str] | None,
        identity_id: pulumi.Input[str],
        tenant_id: pulumi.Input[str],
        placement: Placement,
        depends_on: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`depends_on`: what must exist before any node starts (e.g. private endpoints)."""
        super().__init__("azureml-dask:compute:Compute", name, None, opts)
        subnet = ml.ResourceIdArgs(id=subnet_id) if subnet_id is not None else None

        def replace(paths: list[str]) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(
                parent=self,
                replace_on_changes=paths,
                delete_before_replace=True,
                depends_on=list(depends_on),
            )

        self.clusters = [
            ml.Compute(
                f"cluster-{c.name}",
                compute_name=c.name,
                workspace_name=workspace_name,
                resource_group_name=placement.resource_group_name,
                location=placement.location,
                tags=dict(placement.tags),
                identity=ml.ManagedServiceIdentityArgs(
                    type=ml.ManagedServiceIdentityType.USER_ASSIGNED,
                    user_assigned_identities=[identity_id],
                ),
                properties=ml.AmlComputeArgs(
                    compute_type="AmlCompute",
                    description=f"{c.vm_priority} {c.vm_size}, {c.min_nodes}-{c.max_nodes} nodes",
                    disable_local_auth=True,
                    properties=ml.AmlComputePropertiesArgs(
                        vm_size=c.vm_size,
                        vm_priority=c.vm_priority,
                        os_type=ml.OsType.LINUX,
                        scale_settings=ml.ScaleSettingsArgs(
                            min_node_count=c.min_nodes,
                            max_node_count=c.max_nodes,
                            node_idle_time_before_scale_down=c.node_idle_time_before_scale_down,
                        ),
                        subnet=subnet,
                        enable_node_public_ip=False,
                        remote_login_port_public_access=(ml.RemoteLoginPortPublicAccess.DISABLED),
                    ),
                ),
                opts=replace(CLUSTER_REPLACE_ON_CHANGES),
            )
            for c in clusters
        ]
        self.instances = [
            ml.Compute(
                f"instance-{i.name}",
                compute_name=i.name,
                workspace_name=workspace_name,
                resource_group_name=placement.resource_group_name,
                location=placement.location,
                tags=dict(placement.tags),
                properties=ml.ComputeInstanceArgs(
                    compute_type="ComputeInstance",
                    disable_local_auth=True,
                    properties=ml.ComputeInstancePropertiesArgs(
                        vm_size=i.vm_size,
                        subnet=subnet,
                        enable_node_public_ip=False,
                        idle_time_before_shutdown=i.idle_time_before_shutdown,
                        ssh_settings=ml.ComputeInstanceSshSettingsArgs(
                            ssh_public_access=ml.SshPublicAccess.DISABLED
                        ),
                        compute_instance_authorization_type="personal",
                        personal_compute_instance_settings=ml.PersonalComputeInstanceSettingsArgs(
                            assigned_user=ml.AssignedUserArgs(
                                object_id=i.assigned_user_object_id, tenant_id=tenant_id
                            )
                        ),
                    ),
                ),
                opts=replace(INSTANCE_REPLACE_ON_CHANGES),
            )
            for i in instances
        ]
        self.register_outputs(
            {
                "computeClusterNames": [c.name for c in self.clusters],
                "computeInstanceNames": [i.name for i in self.instances],
            }
        )
