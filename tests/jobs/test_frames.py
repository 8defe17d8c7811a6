"""Regression for the persist trap in AZURE_NOTES.md: a multi-file parquet dataset, read
with a column subset (which makes dask fuse files), persisted, then computed on."""

from __future__ import annotations

from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster, futures_of

from jobs.frames import persist_frame, warm_up_workers


@pytest.fixture(scope="module")
def five_column_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fused")
    for index in range(4):
        frame = pd.DataFrame({name: np.arange(1000.0) + index for name in "abcde"})
        frame.to_parquet(root / f"part.{index}.parquet")
    return root


def expected_sum(root: Path) -> float:
    return float(pd.read_parquet(root, columns=["a"])["a"].sum())


def test_persisted_projection_of_several_files_computes(
    dask_client: Client, five_column_files: Path
) -> None:
    frame = dd.read_parquet(five_column_files, columns=["a", "b"])
    persisted = persist_frame(frame)
    assert len(futures_of(persisted)) == persisted.npartitions  # every partition is held
    assert len(persisted) == 4000
    assert float(persisted["a"].sum().compute()) == expected_sum(five_column_files)
    described = persisted.describe().compute()
    assert described.loc["count", "b"] == 4000


@pytest.mark.xfail(
    strict=True,
    reason="dask/dask#12488: plain persist of a fused read names partitions that were never "
    "computed; when this starts passing, dask has fixed it and jobs.frames can be simplified",
)
def test_plain_persist_still_loses_fused_partitions(
    dask_client: Client, five_column_files: Path
) -> None:
    persisted = dd.read_parquet(five_column_files, columns=["a", "b"]).persist()
    assert len(persisted) == 4000


def _page_faults_of_partitions() -> int:
    """Minor page faults while 20 tasks' worth of 8 MB arrays are allocated and freed."""
    import resource

    np.ones(1_000_000)  # the allocator's first heap, outside the count
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        arrays = [np.ones(1_000_000) for _ in range(8)]
        del arrays
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_warmed_up_workers_reuse_a_partitions_memory_instead_of_faulting_it_in_again() -> None:
    """The nanny spawns workers with MALLOC_TRIM_THRESHOLD_=65536, which makes every 8 MB
    array fresh pages from the kernel; the warm-up's `reuse_partition_memory` keeps them."""
    pages_per_round = 8 * 1_000_000 * 8 // 4096
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        (cold,) = client.run(_page_faults_of_partitions).values()
        warm_up_workers(client)
        (warm,) = client.run(_page_faults_of_partitions).values()
    # numpy asks for huge pages for big arrays, so a fault can map 2 MB: compare, don't count.
    assert warm < pages_per_round  # less than one round's arrays: the heap is reused
    assert cold > 10 * warm  # without it, faulted in again round after round


def test_a_worker_keeps_at_most_an_eighth_of_its_memory_limit_free() -> None:
    from jobs.frames import PASS_TRIM_THRESHOLD, trim_threshold

    assert trim_threshold(None) == trim_threshold(0) == PASS_TRIM_THRESHOLD
    assert trim_threshold(16 * 2**30) == PASS_TRIM_THRESHOLD  # a large worker: the cap
    assert trim_threshold(1 * 2**30) == 128 * 2**20  # 1 GiB: far from the 80% pause
