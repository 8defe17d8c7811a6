"""Local Dask clusters for the benchmark, and what their workers report about memory."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from distributed import Client

from jobs.cluster import ClusterSpec, dask_client
from jobs.frames import worker_peak_memory, worker_spilled_bytes


def _warm_up() -> None:
    # The stage diagnostics build dask.dataframe graphs; the first timed run should not pay
    # for that import.
    import dask.dataframe  # noqa: F401

    import jobs.stats  # noqa: F401


def _reset_peak() -> bool:
    # Linux: writing 5 to clear_refs resets this process's peak RSS (VmHWM) to its current RSS.
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


@contextmanager
def local_cluster(workers: int, memory_limit: str | int = "auto") -> Iterator[Client]:
    """The job's local cluster (jobs/cluster.py) of `workers` single-threaded processes,
    with the dataframe stack imported too (the stage diagnostics use it), and its client."""
    spec = ClusterSpec(
        workers=workers,
        threads_per_worker=1,
        memory_limit=memory_limit,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    )
    with dask_client(spec) as client:
        client.run(_warm_up)
        yield client


def reset_peak_memory(client: Client) -> bool:
    """Start counting each worker's peak memory from now; False when the OS cannot."""
    return all(client.run(_reset_peak).values())


def worker_memory(client: Client) -> dict[str, dict[str, int]]:
    """Per worker: peak resident bytes since the last reset, and bytes spilled to disk."""
    peaks = worker_peak_memory(client)
    spilled = worker_spilled_bytes(client)
    return {
        address: {"peakBytes": int(peaks[address]), "spilledBytes": int(spilled.get(address, 0))}
        for address in peaks
    }
