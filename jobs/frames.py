"""Dask plumbing the analysis relies on, kept apart so the analysis reads as plain steps.

Persisting a parquet dataset: the known trap
--------------------------------------------
On dask 2025.7-2026.8, `dd.read_parquet(folder, columns=[...]).persist()` on a folder with
several files returns a collection whose partitions do not exist. Reading a subset of the
columns makes dask plan "IO fusion" (several files per task). `persist` optimizes the
collection once to build its result (the bare read: no fusion, one partition per file) and
the scheduler call optimizes it again inside a wrapper, where the fusion step does run (fewer,
fused partitions). The data computed is the fused partitions; the collection handed back
names the unfused ones, so the next `len()` or `describe()` fails: `FutureCancelledError ...
lost dependencies` on a distributed cluster, `Missing dependency` on the local scheduler
(dask/dask#12488). A single file never fuses, hence "single-file datasets work".

The pattern used here: take the partitions with `to_delayed()`, whose keys and graph come
from one and the same optimization, persist those, and rebuild the frame from them with
`from_delayed`. The frame's partitions are then exactly the data held in memory, on any
scheduler, and a lost worker's partitions are recomputed from their lineage.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import dask
from distributed import Client, futures_of, wait

if TYPE_CHECKING:  # dask.dataframe costs a second of imports that the one-pass job never needs
    import dask.dataframe as dd
    import pandas as pd


def persist_frame(frame: dd.DataFrame) -> dd.DataFrame:
    """Compute `frame` into memory (cluster memory with a distributed client) and return a
    collection over exactly those partitions."""
    persisted, _ = persist_with(frame, {})
    return persisted


def persist_with(
    frame: dd.DataFrame, per_partition: Mapping[str, Callable[[pd.DataFrame], Any]]
) -> tuple[dd.DataFrame, dict[str, list[Any]]]:
    """`persist_frame`, also applying each `per_partition` function to every partition in
    the same pass (while the partition is fresh in memory) and holding the results.

    Returns the persisted frame and, per function name, its persisted results in partition
    order (small values: gather them with `dask.compute`).
    """
    import dask.dataframe as dd

    parts = frame.to_delayed()
    extra = [
        dask.delayed(function, pure=True, name=f"{name}-{part.key}")(part)
        for name, function in per_partition.items()
        for part in parts
    ]
    held = dask.persist(*parts, *extra)
    futures = futures_of(list(held))
    if futures:
        wait(futures)
    count = len(parts)
    persisted = dd.from_delayed(list(held[:count]), meta=frame._meta, verify_meta=False)
    results = {
        name: list(held[count * (index + 1) : count * (index + 2)])
        for index, name in enumerate(per_partition)
    }
    return persisted, results


def peak_rss() -> int:
    """This process's peak resident memory in bytes (Linux VmHWM; ru_maxrss elsewhere)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def worker_peak_memory(client: Client) -> dict[str, int]:
    """Each worker's peak resident memory in bytes, by worker address."""
    return {address: int(peak) for address, peak in client.run(peak_rss).items()}


def _spilled_bytes(dask_worker: Any) -> int:
    total = getattr(dask_worker.data, "spilled_total", None)  # distributed's SpillBuffer
    return int(getattr(total, "disk", 0) or 0) if total is not None else 0


def worker_spilled_bytes(client: Client) -> dict[str, int]:
    """Bytes each worker has written to its spill directory so far, by worker address."""
    return {address: int(spilled) for address, spilled in client.run(_spilled_bytes).items()}


class QuietInputErrors(logging.Filter):
    """Drops a worker's "Compute Failed" record (a traceback) for an `InvalidInputError`.

    Such an error names the culprit and reaches the client, which prints it as one line;
    the worker's copy would put a traceback on the same terminal (a local cluster's workers
    and an MPI job's ranks share it). The cancellations of the other tasks as the cluster
    closes after such a failure are dropped too. Every other record passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("Compute Failed"):
            return not any("InvalidInputError(" in str(arg) for arg in record.args or ())
        return "ended with CancelledError" not in record.getMessage()


# glibc's mallopt(3) parameters (malloc.h), and the values a worker of the pass uses.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
PASS_MMAP_THRESHOLD = 32 * 2**20  # glibc's largest: a partition's arrays come from the heap
PASS_TRIM_THRESHOLD = 256 * 2**20  # free heap kept for the next partition before trimming


def trim_threshold(memory_limit: int | None) -> int:
    """The free heap a worker keeps: `PASS_TRIM_THRESHOLD`, or an eighth of its memory limit
    if that is less, so that what it keeps between tasks never brings it near distributed's
    pause threshold (80% of the limit), where a worker holding no data would stay paused."""
    if not memory_limit:
        return PASS_TRIM_THRESHOLD
    return min(PASS_TRIM_THRESHOLD, memory_limit // 8)


def reuse_partition_memory(memory_limit: int | None = None) -> bool:
    """Let this process's C allocator keep and reuse the memory of one partition for the
    next (keeping at most `trim_threshold(memory_limit)` free); False where the C library
    is not glibc.

    Each task of the pass allocates and frees the same few hundred MB of numpy arrays.
    glibc serves blocks over `M_MMAP_THRESHOLD` with fresh pages from the kernel, and
    distributed sets `MALLOC_TRIM_THRESHOLD_` to 64 KiB on the workers it spawns, which also
    pins that threshold at 128 KiB (worker-memory.html#automatically-trim-memory): every
    array then costs page faults and zeroing, measured here as 30% of the workers' time
    in the kernel and a pass 20-35% slower. A worker's resident memory stays at about one
    partition's working set instead of dropping between tasks.
    https://man7.org/linux/man-pages/man3/mallopt.3.html
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    mmap = libc.mallopt(M_MMAP_THRESHOLD, PASS_MMAP_THRESHOLD)
    trim = libc.mallopt(M_TRIM_THRESHOLD, trim_threshold(memory_limit))
    return bool(mmap and trim)  # mallopt returns 1 on success


def _prepare_worker(dask_worker: Any) -> None:
    # pyarrow converts numpy arrays through its pandas shim, so the pass imports pandas
    # anyway: import it here, before a run is timed and profiled, not inside the first task.
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import jobs.scan  # noqa: F401

    reuse_partition_memory(dask_worker.memory_manager.memory_limit)

    for name in ("distributed.worker", "distributed.worker.state_machine"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, QuietInputErrors) for f in logger.filters):
            logger.addFilter(QuietInputErrors())


def warm_up_workers(client: Client) -> None:
    """Import the dataframe stack on every worker now, so that the first stage's timing
    measures reading data rather than a cold interpreter's imports; let each worker reuse a
    partition's memory (`reuse_partition_memory`); and keep input errors on the workers from
    printing tracebacks (`QuietInputErrors`)."""
    client.run(_prepare_worker)
