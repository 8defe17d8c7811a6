"""Partition sizing: partitions follow row groups, so big files still make small partitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from distributed import Client

from jobs import analysis
from jobs.data import inspect_parquet, resolve
from jobs.sample import SampleSpec, make_trips, write_sample


@pytest.fixture(scope="module")
def big_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two monthly files of 16,000 rows, each in 8 row groups of 2,000 rows."""
    root = tmp_path_factory.mktemp("big") / "data"
    for month in (1, 2):
        table = make_trips(2024, month, 16_000, np.random.default_rng(month))
        folder = root / f"puYear=2024/puMonth={month}"
        folder.mkdir(parents=True)
        pq.write_table(table, folder / "part-00000.parquet", row_group_size=2_000)
    return root


def test_partitions_hold_about_partition_rows(
    big_files: Path, monkeypatch: pytest.MonkeyPatch, dask_client: Client
) -> None:
    monkeypatch.setattr(analysis, "PARTITION_ROWS", 4_000)
    location = resolve(str(big_files))
    info = inspect_parquet(location)
    assert info.row_groups == 16
    assert analysis.row_groups_per_partition(info) == 2
    options = analysis.AnalysisOptions()
    plan = analysis.plan_columns(info, options)
    pieces = analysis.partitions(info)
    assert len(pieces) == 8  # 2 files x 8 row groups / 2 per partition
    assert all(len(groups) == 2 for _, groups in pieces)
    parts = analysis.one_pass(location, info, plan, options, target=None)
    assert [part.rows for part in parts] == [4_000] * 8
    assert sum(part.rows for part in parts) == 32_000


def test_files_smaller_than_a_partition_stay_whole(tmp_path: Path) -> None:
    location = resolve(str(tmp_path / "data"))
    write_sample(location, SampleSpec(rows=6_000, months=2, rows_per_file=1_000), progress=False)
    info = inspect_parquet(location)
    assert analysis.row_groups_per_partition(info) >= 1
    assert len(analysis.partitions(info)) == len(info.files) == 6
