"""The Dask performance report: written with the run's report through its staging, listed in
the marker, absent when the run fails or has no distributed client."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from distributed import Client

from jobs import report, scan
from jobs.analysis import AnalysisOptions, analyze
from jobs.data import REPORT_MARKER
from jobs.errors import InvalidInputError

SENSORS = AnalysisOptions(time_column="readingTime", write_prepared=False)


def test_report_folder_holds_the_performance_report(
    dask_client: Client, sensor_dataset: Path, tmp_path: Path
) -> None:
    summary = analyze(str(sensor_dataset), str(tmp_path / "report"), SENSORS)
    page = tmp_path / "report" / report.PERFORMANCE_REPORT_FILE
    assert summary["performanceReport"] == report.PERFORMANCE_REPORT_FILE
    html = page.read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "Dask Performance Report" in html
    assert "scan-partition" in html  # the analysis' own tasks are in the task stream
    listed = json.loads((tmp_path / "report" / REPORT_MARKER).read_text())["entries"]
    assert report.PERFORMANCE_REPORT_FILE in listed


def test_a_failed_run_leaves_no_performance_report(
    dask_client: Client, sensor_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_plot(*args: object) -> bytes:
        raise RuntimeError("plot failed")

    monkeypatch.setattr(report, "plot_daily_means", broken_plot)
    with pytest.raises(RuntimeError, match="plot failed"):
        analyze(str(sensor_dataset), str(tmp_path / "report"), SENSORS)
    assert not (tmp_path / "report").exists()


def test_a_pass_that_fails_leaves_no_scratch_copy_of_the_report(
    dask_client: Client, sensor_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_pass(*args: object) -> None:
        raise InvalidInputError("a damaged file")

    monkeypatch.setattr(scan, "scan_partition", broken_pass)  # shipped to the workers by value
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where a scratch copy would go
    with pytest.raises(InvalidInputError, match="a damaged file"):
        analyze(str(sensor_dataset), str(tmp_path / "report"), SENSORS)
    assert not (tmp_path / "report").exists()
    assert list(scratch.iterdir()) == []


def test_without_mlflow_the_report_files_are_not_read_back(
    dask_client: Client,
    sensor_dataset: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clean_env: pytest.MonkeyPatch,
) -> None:
    """Reading them back (megabytes, perhaps over abfs) only serves MLflow's artifacts."""
    from jobs import analysis

    def no_read_back(staging: object) -> dict[str, bytes]:
        raise AssertionError("report files read back without MLflow tracking")

    monkeypatch.setattr(analysis, "_report_files", no_read_back)
    summary = analyze(str(sensor_dataset), str(tmp_path / "report"), SENSORS)
    assert summary["mlflow"] is False
    assert (tmp_path / "report" / report.PERFORMANCE_REPORT_FILE).exists()
