"""The analysis against a pandas reference computed independently on the same data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from jobs.analysis import AnalysisOptions, analyze
from tests.jobs.conftest import REPOSITORY_ROOT, TAXI_SPEC

TAXI_NUMERIC = [
    "passengerCount",
    "tripDistance",
    "rateCodeId",
    "fareAmount",
    "extra",
    "mtaTax",
    "tipAmount",
    "tollsAmount",
    "totalAmount",
]


def check_describe(summary: dict, reference: pd.DataFrame, columns: list[str]) -> None:
    """Exact counts, moments within float tolerance, quantiles within the stated rank bound."""
    rows = len(reference)
    bound = summary["quantiles"]["maxRankError"]
    assert bound == rows // 1000 + summary["partitions"]
    for column in columns:
        got = summary["describe"][column]
        values = reference[column].dropna().to_numpy(dtype=float)
        assert got["count"] == len(values), column
        assert got["mean"] == pytest.approx(values.mean(), rel=1e-9), column
        assert got["std"] == pytest.approx(values.std(ddof=1), rel=1e-9), column
        assert got["min"] == values.min() and got["max"] == values.max(), column
        for name, q in (("25%", 0.25), ("50%", 0.5), ("75%", 0.75)):
            estimate = got[name]
            below = int((values < estimate).sum())
            at_or_below = int((values <= estimate).sum())
            target = q * len(values)
            # The estimate is a data value whose rank range reaches within `bound` of target.
            assert below - bound <= target <= at_or_below + bound, (column, name)
            assert estimate in values


def check_daily(output: Path, reference: pd.DataFrame, time: str, columns: list[str]) -> None:
    daily = pd.read_csv(output / "daily_means.csv", index_col="day", parse_dates=["day"])
    expected = reference.groupby(reference[time].dt.floor("D"))[columns].mean()
    assert list(daily.index) == list(expected.index)
    np.testing.assert_allclose(daily[columns].to_numpy(), expected.to_numpy(), rtol=1e-9)


def test_taxi_sample_matches_pandas(
    dask_client: Client, taxi_dataset: Path, tmp_path: Path, clean_env
) -> None:
    output = tmp_path / "report"
    summary = analyze(str(taxi_dataset), str(output))
    reference = pd.read_parquet(taxi_dataset)

    assert summary["rows"] == len(reference) == TAXI_SPEC.rows
    assert summary["files"] == 6
    assert summary["schema"] == "nyc-taxi-yellow"
    assert summary["numericColumns"] == TAXI_NUMERIC
    check_describe(summary, reference, TAXI_NUMERIC)
    check_daily(output, reference, "tpepPickupDateTime", TAXI_NUMERIC)

    pickup, dropoff = reference["tpepPickupDateTime"], reference["tpepDropoffDateTime"]
    rules = {
        "missingTime": pickup.isna(),
        "numericNotFinite": ~np.isfinite(reference[TAXI_NUMERIC].to_numpy(dtype=float)).all(axis=1),
        "passengerCountNotPositive": reference["passengerCount"] <= 0,
        "tripDistanceNotPositive": reference["tripDistance"] <= 0,
        "dropoffNotAfterPickup": ~(dropoff > pickup),
        "fareAmountNegative": reference["fareAmount"] < 0,
    }
    prepared = summary["prepared"]
    for name, mask in rules.items():
        assert prepared["droppedBy"][name] == int(np.asarray(mask).sum()), name
    invalid = np.logical_or.reduce([np.asarray(m) for m in rules.values()])
    assert prepared["rowsDropped"] == int(invalid.sum()) > 0
    assert prepared["rowsOut"] == len(reference) - int(invalid.sum())

    written = pd.read_parquet(output / "prepared")
    valid = reference[~invalid]
    assert len(written) == len(valid)
    assert sorted(written["puMonth"].astype(int).unique()) == [1, 2, 3]
    minutes = (valid[dropoff.name] - valid[pickup.name]).dt.total_seconds() / 60
    assert written["tripDurationMinutes"].sum() == pytest.approx(minutes.sum(), rel=1e-9)
    tip = valid["tipAmount"] / valid["fareAmount"].where(valid["fareAmount"] > 0) * 100
    assert written["tipPercent"].sum() == pytest.approx(tip.sum(), rel=1e-9)
    assert (written["tripDurationMinutes"] > 0).all() and (written["tripDistance"] > 0).all()

    on_disk = json.loads((output / "summary.json").read_text())
    assert on_disk["rows"] == summary["rows"]
    cluster = on_disk["cluster"]
    assert cluster["workers"] == 2 and cluster["workersLost"] == 0
    assert set(cluster["peakMemoryBytes"]) == set(cluster["spilledBytes"])
    assert all(peak > 0 for peak in cluster["peakMemoryBytes"].values())
    assert set(on_disk["timings"]) == {
        "inspect",
        "pass",
        "count",
        "describe",
        "daily_means",
        "prepare",
        "report",
    }
    # One pass, no persist: the summary says why rather than timing a load stage.
    assert on_disk["persisted"] is False
    assert on_disk["steps"]["persist"].startswith("not persisted")
    assert (output / "daily_means.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in output.iterdir() if p.name.startswith(".staging")]


def test_non_taxi_dataset_matches_pandas(
    dask_client: Client, sensor_dataset: Path, tmp_path: Path, clean_env
) -> None:
    output = tmp_path / "report"
    summary = analyze(str(sensor_dataset), str(output), AnalysisOptions(time_column="readingTime"))
    reference = pd.read_parquet(sensor_dataset)
    columns = ["temperature", "humidity", "batteryLevel"]

    assert summary["rows"] == len(reference) == 20_000
    assert summary["schema"] == "generic"
    assert summary["numericColumns"] == columns  # sensorId is a string: not described
    check_describe(summary, reference, columns)
    check_daily(output, reference, "readingTime", columns)
    missing = int(reference["temperature"].isna().sum())
    assert summary["prepared"]["droppedBy"] == {"missingTime": 0, "numericNotFinite": missing}
    written = pd.read_parquet(output / "prepared")
    assert len(written) == len(reference) - missing
    assert {"readingTimeYear", "readingTimeMonth"} <= set(written.columns)


def test_numeric_columns_can_be_chosen(
    dask_client: Client, sensor_dataset: Path, tmp_path: Path, clean_env
) -> None:
    summary = analyze(
        str(sensor_dataset),
        str(tmp_path / "report"),
        AnalysisOptions(
            time_column="readingTime", numeric_columns=("humidity",), write_prepared=False
        ),
    )
    assert list(summary["describe"]) == ["humidity"]
    assert summary["prepared"]["path"] is None
    assert not (tmp_path / "report" / "prepared").exists()


def test_runs_without_a_distributed_client(taxi_dataset: Path, tmp_path: Path) -> None:
    """The same analysis on Dask's local scheduler, as a notebook without a cluster would;
    in a fresh interpreter, since this session's tests keep a default client."""
    code = (
        "import json, sys; from jobs.analysis import AnalysisOptions, analyze; "
        "s = analyze(sys.argv[1], sys.argv[2], AnalysisOptions(write_prepared=False)); "
        "print(json.dumps([s['rows'], s['cluster']['scheduler'], s['performanceReport']]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(taxi_dataset), str(tmp_path / "report")],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"},
    )
    assert result.returncode == 0, result.stderr
    rows, scheduler, performance = json.loads(result.stdout.strip().splitlines()[-1])
    assert rows == TAXI_SPEC.rows
    assert scheduler.startswith("local")
    assert performance is None  # no distributed scheduler, no dashboard to report
    assert not (tmp_path / "report" / "dask-performance-report.html").exists()


def test_a_worker_killed_mid_run_still_gives_correct_results(
    taxi_dataset: Path, tmp_path: Path, clean_env
) -> None:
    """Partition tasks lost with a killed worker are rerun on another; their prepared files
    are overwritten, not duplicated."""
    killed: list[int] = []
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):

        def kill_a_worker(stage: str) -> None:
            if stage == "pass" and not killed:
                pids = client.run(os.getpid)
                victim = sorted(pids.values())[0]
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        summary = analyze(str(taxi_dataset), str(tmp_path / "report"), on_stage=kill_a_worker)
    assert killed
    assert summary["cluster"]["workersLost"] == 1  # the nanny restarts it under a new address
    reference = pd.read_parquet(taxi_dataset)
    assert summary["rows"] == len(reference)
    check_describe(summary, reference, TAXI_NUMERIC)
    check_daily(tmp_path / "report", reference, "tpepPickupDateTime", TAXI_NUMERIC)
    assert len(pd.read_parquet(tmp_path / "report" / "prepared")) == summary["prepared"]["rowsOut"]


def test_metrics_and_report_go_to_mlflow_when_a_tracking_uri_is_set(
    dask_client: Client, sensor_dataset: Path, tmp_path: Path, clean_env
) -> None:
    import mlflow

    store = tmp_path / "mlruns"
    clean_env.setenv("MLFLOW_TRACKING_URI", store.as_uri())
    clean_env.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # a local stand-in for Azure ML
    summary = analyze(
        str(sensor_dataset), str(tmp_path / "report"), AnalysisOptions(time_column="readingTime")
    )
    assert summary["mlflow"] is True
    mlflow.set_tracking_uri(store.as_uri())
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert len(runs) == 1
    metrics = runs[0].data.metrics
    assert metrics["rows"] == 20_000
    assert metrics["humidity.mean"] == pytest.approx(summary["describe"]["humidity"]["mean"])
    artifacts = Path(runs[0].info.artifact_uri.removeprefix("file://")) / "report"
    assert {
        "summary.json",
        "daily_means.png",
        "describe.csv",
        "daily_means.csv",
        "dask-performance-report.html",
    } <= {p.name for p in artifacts.iterdir()}
