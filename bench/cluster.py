"""Local Dask clusters for the benchmark, and what their workers report about memory."""

from __future__ import annotations

import logging
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from distributed import Client, LocalCluster


def _warm_up() -> None:
    # Import what the analysis' tasks import, so the first timed run does not pay for it.
    import dask.dataframe  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import jobs.stats  # noqa: F401


def _reset_peak() -> bool:
    # Linux: writing 5 to clear_refs resets this process's peak RSS (VmHWM) to its current RSS.
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _peak_rss() -> int:
    # VmHWM is this process's own high-water mark (reset by clear_refs). getrusage's
    # ru_maxrss is not: a spawned worker inherits the peak of the process it was forked from.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _spilled(dask_worker: Any) -> int:
    total = getattr(dask_worker.data, "spilled_total", None)
    return int(getattr(total, "disk", 0) or 0) if total is not None else 0


@contextmanager
def local_cluster(workers: int, memory_limit: str | int = "auto") -> Iterator[Client]:
    """A LocalCluster of `workers` single-threaded processes, warmed up, and its client."""
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(_warm_up)
        yield client


def reset_peak_memory(client: Client) -> bool:
    """Start counting each worker's peak memory from now; False when the OS cannot."""
    return all(client.run(_reset_peak).values())


def worker_memory(client: Client) -> dict[str, dict[str, int]]:
    """Per worker: peak resident bytes since the last reset, and bytes spilled to disk."""
    peaks = client.run(_peak_rss)
    spilled = client.run(_spilled)
    return {
        address: {"peakBytes": int(peaks[address]), "spilledBytes": int(spilled.get(address, 0))}
        for address in peaks
    }
