"""Issue #13 items 9-10: time columns beyond naive timestamps, the drop rule and mostly-missing
columns, and names that cannot collide with the dataset's own columns. Each dataset is small
and written in tmp_path."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from distributed import Client

from jobs.analysis import AnalysisOptions, analyze
from jobs.errors import InvalidInputError

ROWS = 200


def write(tmp_path: Path, table: pa.Table) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    pq.write_table(table, folder / "part-0.parquet")  # footers record null counts
    return folder


def times(rows: int = ROWS) -> pa.Array:
    start = np.datetime64("2024-03-01T00:00", "us")
    return pa.array(start + np.arange(rows) * np.timedelta64(30, "m"))


def daily_csv(output: Path, index: str = "day") -> pd.DataFrame:
    return pd.read_csv(output / "daily_means.csv", index_col=index, parse_dates=[index])


def test_mostly_missing_column_does_not_drop_rows_and_is_named(
    dask_client: Client, tmp_path: Path, clean_env
) -> None:
    value = np.arange(ROWS, dtype=float)
    value[7] = np.nan  # one missing value in a fully present column: that row is dropped
    gust = pa.array([float(i) if i % 5 == 0 else None for i in range(ROWS)])  # 80% missing
    folder = write(tmp_path, pa.table({"t": times(), "value": value, "gust": gust}))
    summary = analyze(str(folder), str(tmp_path / "out"), AnalysisOptions(time_column="t"))
    prepared = summary["prepared"]
    assert prepared["droppedBy"] == {"missingTime": 0, "numericNotFinite": 1}
    assert prepared["rowsOut"] == ROWS - 1
    assert list(prepared["notFiniteRuleSkips"]) == ["gust"]
    assert "80.0%" in prepared["notFiniteRuleSkips"]["gust"]
    assert "gust" not in prepared["rules"]["numericNotFinite"]
    assert summary["describe"]["gust"]["count"] == ROWS // 5  # still described
    written = pd.read_parquet(tmp_path / "out" / "prepared")
    assert len(written) == ROWS - 1 and "gust" in written.columns


def test_date32_time_column_gives_daily_means(
    dask_client: Client, tmp_path: Path, clean_env
) -> None:
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i // 10) for i in range(ROWS)]
    value = np.arange(ROWS, dtype=float)
    folder = write(tmp_path, pa.table({"d": pa.array(days, pa.date32()), "value": value}))
    output = tmp_path / "out"
    summary = analyze(str(folder), str(output), AnalysisOptions(time_column="d"))
    assert summary["dailyMeans"]["days"] == ROWS // 10
    daily = daily_csv(output)
    expected = pd.Series(value).groupby(np.arange(ROWS) // 10).mean()
    np.testing.assert_allclose(daily["value"].to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert daily.index[0] == pd.Timestamp("2024-01-01")
    assert summary["prepared"]["rowsOut"] == ROWS


def test_daily_index_does_not_collide_with_a_day_column(
    dask_client: Client, tmp_path: Path, clean_env
) -> None:
    day = np.arange(ROWS, dtype=float) % 7
    folder = write(tmp_path, pa.table({"t": times(), "day": day}))
    output = tmp_path / "out"
    summary = analyze(str(folder), str(output), AnalysisOptions(time_column="t"))
    assert summary["dailyMeans"]["index"] == "day_2"
    daily = daily_csv(output, "day_2")
    assert list(daily.columns) == ["day"]  # the dataset's own column, averaged
    assert summary["numericColumns"] == ["day"]


def test_wrong_time_column_names_the_timestamp_and_date_columns(tmp_path: Path) -> None:
    table = pa.table(
        {
            "ts": times(),
            "d": pa.array([dt.date(2024, 1, 1)] * ROWS, pa.date32()),
            "when": pa.array(["2024-01-01"] * ROWS),  # a string: not offered
            "value": np.ones(ROWS),
        }
    )
    folder = write(tmp_path, table)
    with pytest.raises(InvalidInputError, match="could serve: ts, d") as raised:
        analyze(str(folder), str(tmp_path / "out"))
    assert "when" not in str(raised.value).split("could serve")[1]
    with pytest.raises(InvalidInputError, match="could serve: ts, d"):
        analyze(str(folder), str(tmp_path / "out"), AnalysisOptions(time_column="value"))
    assert not (tmp_path / "out").exists()


def test_no_time_column_at_all_says_so(tmp_path: Path) -> None:
    folder = write(tmp_path, pa.table({"value": np.ones(ROWS)}))
    with pytest.raises(InvalidInputError, match="no timestamp or date column"):
        analyze(str(folder), str(tmp_path / "out"), AnalysisOptions(time_column="value"))


def test_timezone_aware_timestamps_warn_nothing_and_use_local_days(
    dask_client: Client, tmp_path: Path, clean_env
) -> None:
    stamps = pa.array(times().to_numpy(), pa.timestamp("us", tz="Europe/Berlin"))
    value = np.arange(ROWS, dtype=float)
    folder = write(tmp_path, pa.table({"t": stamps, "value": value}))
    output = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        analyze(str(folder), str(output), AnalysisOptions(time_column="t"))
    reference = pd.read_parquet(folder)
    local = reference["t"].dt.tz_localize(None)  # wall-clock days in Berlin
    expected = reference.groupby(local.dt.floor("D"))["value"].mean()
    daily = daily_csv(output)
    assert list(daily.index) == list(expected.index)
    np.testing.assert_allclose(daily["value"].to_numpy(), expected.to_numpy(), rtol=1e-12)
