"""Size the Azure ML MPI job to its compute cluster: nodes, processes per node, and each
Dask worker's memory limit, from the cluster's VM facts in the stack outputs (contract "2").

Why the job sets the memory limit itself: with `memory_limit="auto"` every worker believes
it owns `node memory x threads / cores` whatever the number of processes actually started
on the node, so eight 1-thread workers on a 4-vCPU VM each plan with a quarter of the
memory and the node is over-committed twice
(https://distributed.dask.org/en/stable/worker-memory.html, `parse_memory_limit`).
Here every MPI process on a node gets an equal share of the memory left after the headroom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from jobs.errors import InvalidInputError

GIB = 1024**3
# Left on each node for the OS, Azure ML's node agent and the blobfuse mount of the input:
# the larger of 2 GiB and 10 % of the node's memory.
HEADROOM_MIN_GIB = 2.0
HEADROOM_FRACTION = 0.10
# Two processes of every job are not workers: rank 0 is the scheduler, rank 1 the analysis.
NON_WORKER_RANKS = 2
DEFAULT_NODES = 2


@dataclass(frozen=True)
class ClusterFacts:
    """One compute cluster as the stack outputs describe it; 0 means "not in the catalog"."""

    name: str
    vm_size: str
    max_nodes: int
    vcpus: int
    memory_gib: float

    @property
    def known(self) -> bool:
        """Whether the VM catalog gave cores and memory (not a `vmSizeUnlisted` size)."""
        return self.vcpus > 0 and self.memory_gib > 0

    @property
    def usable_memory_gib(self) -> float:
        """Memory per node left to the job's processes after the headroom."""
        headroom = max(HEADROOM_MIN_GIB, HEADROOM_FRACTION * self.memory_gib)
        return max(self.memory_gib - headroom, 0.0)


@dataclass(frozen=True)
class JobSizing:
    """What the job starts: `instance_count` x `processes_per_instance` MPI processes."""

    instance_count: int
    processes_per_instance: int
    threads_per_worker: int
    memory_limit: str  # a `distributed` memory limit: bytes as text, or "auto"
    explanation: str

    @property
    def workers(self) -> int:
        return self.instance_count * self.processes_per_instance - NON_WORKER_RANKS


def size_job(
    cluster: ClusterFacts | None,
    *,
    instance_count: int | None,
    processes_per_instance: int | None,
    threads_per_worker: int,
    memory_limit: str | float | None,
    source: str,
) -> JobSizing:
    """Resolve the unset flags from `cluster`'s facts and check the set ones against them.

    `cluster` is None when the outputs predate contract "2"; then every sizing flag must be
    given. Errors name the flag, the cluster and what it allows.
    """
    if cluster is None or not cluster.known:
        return _size_unknown(
            cluster, instance_count, processes_per_instance, threads_per_worker, memory_limit,
            source,
        )  # fmt: skip

    _check_nodes(instance_count, cluster, source)
    nodes = instance_count if instance_count is not None else min(DEFAULT_NODES, cluster.max_nodes)
    if threads_per_worker > cluster.vcpus:
        raise InvalidInputError(
            f"--threads-per-worker {threads_per_worker} exceeds the {cluster.vcpus} vCPUs of "
            f"{cluster.vm_size} (compute cluster {cluster.name!r})"
        )
    chosen = processes_per_instance is None
    if processes_per_instance is None:
        # One worker process per core, and enough processes for dask-mpi's three roles.
        processes_per_instance = max(
            cluster.vcpus // threads_per_worker, math.ceil((NON_WORKER_RANKS + 1) / nodes)
        )
    _check_world(nodes, processes_per_instance)

    share_gib = cluster.usable_memory_gib / processes_per_instance
    if memory_limit is None:
        limit = str(int(share_gib * GIB))
        memory_note = (
            f"memory limit {share_gib:.1f} GiB per process ({cluster.memory_gib:g} GiB less "
            f"headroom, over {processes_per_instance} processes)"
        )
    else:
        limit = _explicit_limit(memory_limit, cluster, processes_per_instance)
        memory_note = f"memory limit {memory_limit} per worker (--memory-limit)"
    processes_note = "one per vCPU" if chosen else "--processes-per-instance"
    if processes_per_instance * threads_per_worker > cluster.vcpus:
        processes_note += f", more threads than the {cluster.vcpus} vCPUs: CPU over-committed"
    explanation = (
        f"compute cluster {cluster.name!r} ({cluster.vm_size}: {cluster.vcpus} vCPUs, "
        f"{cluster.memory_gib:g} GiB, up to {cluster.max_nodes} nodes): {nodes} nodes x "
        f"{processes_per_instance} processes ({processes_note}) = scheduler, analysis and "
        f"{nodes * processes_per_instance - NON_WORKER_RANKS} workers of "
        f"{threads_per_worker} thread(s); {memory_note}"
    )
    return JobSizing(nodes, processes_per_instance, threads_per_worker, limit, explanation)


def _size_unknown(
    cluster: ClusterFacts | None,
    instance_count: int | None,
    processes_per_instance: int | None,
    threads_per_worker: int,
    memory_limit: str | float | None,
    source: str,
) -> JobSizing:
    """No VM facts: the user sizes the job; nothing is guessed."""
    missing = [
        flag
        for flag, value in (
            ("--instance-count", instance_count),
            ("--processes-per-instance", processes_per_instance),
            ("--memory-limit", memory_limit),
        )
        if value is None
    ]
    if cluster is None:
        why = f"{source} predates outputs contract version 2, which gives the clusters' VM facts"
    else:
        why = f"VM size {cluster.vm_size} of compute cluster {cluster.name!r} is not in the catalog"
    if missing:
        raise InvalidInputError(
            f"cannot size the job: {why}; pass {', '.join(missing)} (or update the stack)"
        )
    assert instance_count is not None and processes_per_instance is not None
    _check_nodes(instance_count, cluster, source)
    _check_world(instance_count, processes_per_instance)
    return JobSizing(
        instance_count,
        processes_per_instance,
        threads_per_worker,
        str(memory_limit),
        f"{instance_count} nodes x {processes_per_instance} processes, memory limit "
        f"{memory_limit} per worker, as given ({why})",
    )


def _check_nodes(instance_count: int | None, cluster: ClusterFacts | None, source: str) -> None:
    if cluster is not None and instance_count is not None and instance_count > cluster.max_nodes:
        raise InvalidInputError(
            f"--instance-count {instance_count} exceeds maxNodes "
            f"{cluster.max_nodes} of compute cluster {cluster.name!r} ({source}); ask for at "
            f"most {cluster.max_nodes} nodes, or raise the cluster's maxNodes in the stack"
        )


def _check_world(nodes: int, processes_per_instance: int) -> None:
    if nodes * processes_per_instance < NON_WORKER_RANKS + 1:
        raise InvalidInputError(
            "dask-mpi needs at least 3 processes (scheduler, analysis, one worker): "
            "raise --instance-count or --processes-per-instance"
        )


def _explicit_limit(
    memory_limit: str | float, cluster: ClusterFacts, processes_per_instance: int
) -> str:
    """A given limit, refused when the node's processes together would exceed its memory."""
    from dask.utils import parse_bytes

    if memory_limit == "auto":
        return "auto"
    if isinstance(memory_limit, float):
        per_process = memory_limit * cluster.memory_gib * GIB
    else:
        per_process = float(parse_bytes(memory_limit))
    if per_process * processes_per_instance > cluster.usable_memory_gib * GIB:
        raise InvalidInputError(
            f"--memory-limit {memory_limit} x {processes_per_instance} processes per node "
            f"exceeds the {cluster.usable_memory_gib:.1f} GiB that {cluster.vm_size} leaves "
            f"after headroom ({cluster.memory_gib:g} GiB in all); at most "
            f"{cluster.usable_memory_gib / processes_per_instance:.1f}GiB per process"
        )
    return str(int(per_process))
