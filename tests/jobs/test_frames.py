"""Regression for the persist trap in AZURE_NOTES.md: a multi-file parquet dataset, read
with a column subset (which makes dask fuse files), persisted, then computed on."""

from __future__ import annotations

from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import Client, futures_of

from jobs.frames import persist_frame


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
