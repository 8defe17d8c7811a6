"""Compute policies: no public entry points on nodes, nothing idle that costs money."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from policy.posture import is_production
from policy.violations import prop, report_resource

COMPUTE = "azure-native:machinelearningservices:Compute"
AML_COMPUTE = "AmlCompute"
COMPUTE_INSTANCE = "ComputeInstance"
_DURATION = re.compile(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?")


def duration_seconds(value: Any) -> int | None:
    """Seconds in an ISO 8601 time duration such as `PT120S` or `PT30M`; None if not one."""
    if not isinstance(value, str):
        return None
    match = _DURATION.fullmatch(value)
    if match is None or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _compute(args: ResourceValidationArgs) -> tuple[str | None, Any]:
    """(computeType, the type-specific properties) of an Azure ML compute."""
    if args.resource_type != COMPUTE:
        return None, None
    compute = prop(args.props, "properties")
    return prop(compute, "computeType"), prop(compute, "properties")


def validate_no_public_access(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Clusters and instances have no node public IP and no public SSH."""
    kind, properties = _compute(args)
    if kind not in (AML_COMPUTE, COMPUTE_INSTANCE):
        return
    if prop(properties, "enableNodePublicIp") is not False:
        report_resource(
            args,
            report,
            f"{kind} enableNodePublicIp is not false (Azure's default is a public IP per node).",
            "set enable_node_public_ip=False; outbound goes through the compute subnet's NAT "
            "gateway, or the workspace's managed network.",
        )
    if kind == AML_COMPUTE:
        ssh = prop(properties, "remoteLoginPortPublicAccess")
        if ssh != "Disabled":
            report_resource(
                args,
                report,
                f"remoteLoginPortPublicAccess is {ssh!r}: the SSH port may be open publicly.",
                'set remote_login_port_public_access="Disabled".',
            )
    else:
        ssh = prop(properties, "sshSettings", "sshPublicAccess")
        if ssh != "Disabled":
            report_resource(
                args,
                report,
                f"sshSettings.sshPublicAccess is {ssh!r}: the instance may accept public SSH.",
                'set ssh_settings.ssh_public_access="Disabled".',
            )


def validate_cluster_scale_down(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Clusters scale down when idle; outside production they scale to zero nodes."""
    kind, properties = _compute(args)
    if kind != AML_COMPUTE:
        return
    scale = prop(properties, "scaleSettings")
    idle = prop(scale, "nodeIdleTimeBeforeScaleDown")
    if not duration_seconds(idle):
        report_resource(
            args,
            report,
            f"scaleSettings.nodeIdleTimeBeforeScaleDown is {idle!r}, not an ISO 8601 duration "
            "such as PT120S: idle nodes may keep running.",
            "set azureml-dask:computeClusters[].idleSecondsBeforeScaleDown (at least 60).",
        )
    min_nodes = prop(scale, "minNodeCount")
    if not is_production(args.urn, args.stack_tags) and min_nodes != 0:
        report_resource(
            args,
            report,
            f"scaleSettings.minNodeCount is {min_nodes!r} in a non-production stack: those "
            "nodes run (and cost) all the time.",
            "set azureml-dask:computeClusters[].minNodes: 0 outside production.",
        )


def validate_instance_idle_shutdown(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Compute instances shut down when idle."""
    kind, properties = _compute(args)
    if kind != COMPUTE_INSTANCE:
        return
    idle = prop(properties, "idleTimeBeforeShutdown")
    if not duration_seconds(idle):
        report_resource(
            args,
            report,
            f"idleTimeBeforeShutdown is {idle!r}, not an ISO 8601 duration such as PT30M: "
            "a forgotten instance runs until someone stops it.",
            "set azureml-dask:computeInstances[].idleMinutesBeforeShutdown.",
        )


NO_PUBLIC_ACCESS = ResourceValidationPolicy(
    name="compute-no-public-ip-no-ssh",
    description="Compute clusters and instances have no node public IP and no public SSH.",
    validate=validate_no_public_access,
)
CLUSTER_SCALE_DOWN = ResourceValidationPolicy(
    name="compute-cluster-idle-scale-down",
    description="Compute clusters scale down when idle, to zero nodes outside production.",
    validate=validate_cluster_scale_down,
)
INSTANCE_IDLE_SHUTDOWN = ResourceValidationPolicy(
    name="compute-instance-idle-shutdown",
    description="Compute instances shut down after an idle period.",
    validate=validate_instance_idle_shutdown,
)
