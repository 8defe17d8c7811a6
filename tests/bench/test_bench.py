"""The benchmark's agreement checks, datasets and command line, on tiny data (no timing)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

from bench import agree, engines, report
from bench.cli import main, parse_rows
from bench.dataset import ensure_dataset
from jobs.errors import InvalidInputError

ROWS = 24_000
SKETCH = 10  # coarse on purpose: the quartiles are approximate and the bound is exercised


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_dataset(tmp_path_factory.mktemp("bench"), ROWS, progress=False)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def results(tiny: Path, client: Client) -> dict[str, engines.Result]:
    columns = engines.plan(tiny)
    return {
        "floor": engines.run_floor(tiny, columns),
        "duckdb": engines.run_duckdb(tiny, columns, threads=2),
        "job": engines.run_job(tiny, SKETCH),
    }


def test_engines_agree_on_the_same_data(tiny: Path, results: dict[str, engines.Result]) -> None:
    floor, duckdb, job = results["floor"], results["duckdb"], results["job"]
    assert floor.rows == duckdb.rows == job.rows == ROWS
    assert set(job.seconds) == {
        "inspect",
        "pass",
        "count",
        "describe",
        "daily_means",
        "prepare",
        "report",
    }
    checks = agree.compare(duckdb, job)
    checks += agree.check_quartiles(
        tiny, engines.plan(tiny), job, SKETCH, int(job.extra["partitions"])
    )
    assert agree.failures(checks) == []
    assert job.daily is not None and len(job.daily) == 366  # 2024, every day has trips
    quartiles = [c for c in checks if "%" in c.name]
    assert len(quartiles) == 3 * len(job.describe)


def test_compare_catches_each_kind_of_disagreement(results: dict[str, engines.Result]) -> None:
    duckdb, job = results["duckdb"], results["job"]

    def failed(other: engines.Result) -> set[str]:
        return {check.name for check in agree.failures(agree.compare(duckdb, other))}

    wrong = copy.deepcopy(job)
    wrong.rows += 1
    assert failed(wrong) == {"rows"}

    wrong = copy.deepcopy(job)
    wrong.describe["fareAmount"]["mean"] *= 1 + 1e-8  # just outside 1e-9 relative
    assert failed(wrong) == {"fareAmount.mean"}

    wrong = copy.deepcopy(job)
    wrong.describe["tripDistance"]["count"] -= 1
    assert failed(wrong) == {"tripDistance.count"}

    wrong = copy.deepcopy(job)
    assert wrong.daily is not None
    wrong.daily = wrong.daily.iloc[1:]
    assert failed(wrong) == {"daily.days"}

    wrong = copy.deepcopy(job)
    assert wrong.daily is not None
    wrong.daily.iloc[10, 0] += 1.0
    assert failed(wrong) == {f"daily.{wrong.daily.columns[0]}"}


def test_quartile_outside_the_documented_bound_fails(
    tiny: Path, results: dict[str, engines.Result]
) -> None:
    job = copy.deepcopy(results["job"])
    job.describe["fareAmount"]["50%"] = job.describe["fareAmount"]["max"]
    checks = agree.check_quartiles(tiny, engines.plan(tiny), job, SKETCH, 12)
    assert [c.name for c in agree.failures(checks)] == ["fareAmount.50%"]


def test_rank_bound_is_the_documented_one() -> None:
    assert agree.rank_bound(24_000_000, 1000, 12) == 24_012


def test_dataset_is_reused_not_regenerated(tiny: Path) -> None:
    before = sorted((p, p.stat().st_mtime_ns) for p in tiny.rglob("*.parquet"))
    assert ensure_dataset(tiny.parent, ROWS, progress=False) == tiny
    assert sorted((p, p.stat().st_mtime_ns) for p in tiny.rglob("*.parquet")) == before
    assert len(before) == 12  # one file per month


def test_dataset_from_other_generator_code_is_regenerated(tmp_path: Path) -> None:
    folder = ensure_dataset(tmp_path, 1200, progress=False)
    marker = tmp_path / "taxi-1200.json"
    stale = json.loads(marker.read_text()) | {"generator": "0000000000000000"}
    marker.write_text(json.dumps(stale))
    (folder / "stale.txt").write_text("from the old generator")
    assert ensure_dataset(tmp_path, 1200, progress=False) == folder
    assert not (folder / "stale.txt").exists()
    assert json.loads(marker.read_text())["generator"] != "0000000000000000"
    assert not list(tmp_path.glob(".taxi-*"))  # no partial folder left behind


def test_foreign_folder_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "taxi-1200").mkdir()
    (tmp_path / "taxi-1200" / "mine.txt").write_text("keep me")
    with pytest.raises(InvalidInputError, match=r"taxi-1200 exists but has no taxi-1200\.json"):
        ensure_dataset(tmp_path, 1200, progress=False)
    assert (tmp_path / "taxi-1200" / "mine.txt").read_text() == "keep me"


def test_row_counts_parse_with_suffixes() -> None:
    assert parse_rows("24M") == 24_000_000
    assert parse_rows("1.5m") == 1_500_000
    assert parse_rows("500k") == 500_000
    assert parse_rows("3_000") == 3_000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rows", "lots"], "'lots' is not a row count like 24M or 500k"),
        (["--rows", "5"], "at least 12 rows"),
        (["--only", "main,speed"], "unknown section(s) speed"),
        (["--memory-limit", "plenty"], "'plenty' is not a memory size like 1.5GiB"),
        (["--repeat", "0"], "'0' must be at least 1"),
    ],
)
def test_bad_flags_are_named(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--data-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing generated or written


def test_growth_exponent_of_linear_and_flat_times() -> None:
    assert report.growth_exponent([(1, 2.0), (2, 4.0), (4, 8.0)]) == pytest.approx(1.0)
    assert report.growth_exponent([(1, 3.0), (2, 3.0)]) == pytest.approx(0.0)


def test_full_run_writes_tables_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "record.json"
    argv = ["--data-dir", str(tmp_path), "--rows", "2400", "--sizes", "1200,2400"]
    argv += ["--repeat", "1", "--memory-rows", "4800", "--memory-limit", "1GiB"]
    argv += ["--no-progress", "--json", str(record)]
    assert main(argv) == 0
    out = json.loads(record.read_text())
    assert out["agreement"] is True
    assert [s["rows"] for s in out["sizes"]] == [1200, 2400]
    main_size = out["sizes"][1]
    assert set(main_size["engines"]) == {"floor", "duckdb", "duckdb-approx", "job"}
    assert main_size["jobVsFloor"] > 0 and main_size["jobVsDuckdb"] > 0
    assert set(main_size["medianRatios"]) == {"jobVsFloor", "jobVsDuckdb", "jobVsDuckdbApprox"}
    whole = out["whole"]
    assert whole["rows"] == 2400 and all(check["ok"] for check in whole["checks"])
    assert {c["name"] for c in whole["checks"]} == {"rows", "rowsDropped", "rowsWritten", "days"}
    assert whole["jobVsDuckdb"] > 0 and whole["jobVsFloor"] > 0
    assert whole["jobStages"]["pass"] > 0  # the stage view stays, as a diagnostic
    assert set(out["targets"]) == {
        "wholeJobVsDuckdb",
        "wholeJobVsFloor",
        "jobVsDuckdb",
        "jobVsFloor",
        "growthExponent",
        "speedupTwoWorkers",
    }
    assert out["scaling"]["oneWorker"]["rows"] == 2400
    memory = out["memory"]
    assert memory["rows"] == 4800 and memory["workersAtEnd"] == 2
    assert all(peak > 0 for peak in memory["peakWorkerBytes"].values())
    assert out["machine"]["cpus"] >= 1
    printed = capsys.readouterr().out
    assert "2,400 rows in 12 files" in printed and "targets:" in printed
    assert "whole job (processes, median of 1)" in printed
