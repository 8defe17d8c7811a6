"""The benchmark's agreement checks, datasets and command line, on tiny data (no timing)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

from bench import agree, engines, report, stages, whole
from bench.cli import EXIT_DISAGREE, main, parse_rows, parse_sections
from bench.dataset import ensure_dataset
from bench.options import Options
from jobs.errors import InvalidInputError

ROWS = 24_000
SKETCH = 10  # coarse on purpose: the quartiles are approximate and the bound is exercised


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Under <data dir>/data, where `python -m bench --data-dir <data dir>` looks for it.
    return ensure_dataset(tmp_path_factory.mktemp("bench") / "data", ROWS, progress=False)


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
        (["--wide-rows", "many"], "'many' is not a row count like 24M or 500k"),
        (["--sizes", "1M,huge"], "'huge' is not a row count like 24M or 500k"),
        (["--workers", "two"], "'two' is not a whole number"),
        (["--only", ","], "unknown section(s) (none)"),
        (["--fastest"], "unrecognized arguments: --fastest"),
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


def test_stages_stands_for_the_diagnostic_sections() -> None:
    assert parse_sections("whole,stages") == ("whole", *stages.SECTIONS)
    assert parse_sections("main,memory") == ("main", "memory")


def process_runs(
    tiny: Path, results: dict[str, engines.Result]
) -> tuple[whole.Dataset, dict[str, list[whole.ProcessRun]]]:
    """What the three processes would report on `tiny`, built from the in-process engines'
    figures (no process started): consistent counts, the job's describe and daily means."""
    dataset = whole.describe_dataset(tiny, "taxi", "tpepPickupDateTime")
    layout = ("puYear=2024/puMonth=1", "puYear=2024/puMonth=2")
    dropped_by = {"missingTime": 0, "fareAmountNegative": 7}
    job, duckdb = copy.deepcopy(results["job"]), copy.deepcopy(results["duckdb"])
    summary = {"partitions": job.extra["partitions"], "prepared": {"rowsOut": ROWS - 7}}
    return dataset, {
        "job": [whole.ProcessRun("job", 2.0, ROWS, ROWS - 7, layout, 7, dropped_by, job, summary)],
        "duckdb": [
            whole.ProcessRun("duckdb", 1.0, ROWS, ROWS - 7, layout, 7, dict(dropped_by), duckdb)
        ],
        "floor": [whole.ProcessRun("floor", 0.5, ROWS, ROWS, layout)],
    }


def _mean(run: whole.ProcessRun) -> None:
    assert run.result is not None
    run.result.describe["fareAmount"]["mean"] *= 1 + 1e-8  # just outside 1e-9 relative


def _daily(run: whole.ProcessRun) -> None:
    assert run.result is not None and run.result.daily is not None
    run.result.daily.iloc[3, 1] += 0.5


def _rule(run: whole.ProcessRun) -> None:
    run.dropped_by["fareAmountNegative"] -= 1


def _dropped(run: whole.ProcessRun) -> None:
    run.dropped = (run.dropped or 0) + 1


def _written(run: whole.ProcessRun) -> None:
    run.written -= 1


def _layout(run: whole.ProcessRun) -> None:
    run.layout = run.layout[:1]


@pytest.mark.parametrize(
    ("tamper", "caught"),
    [
        (lambda run: None, set()),
        (_mean, {"fareAmount.mean"}),
        (_daily, {"daily.tripDistance"}),
        (_rule, {"droppedBy.fareAmountNegative"}),
        (_dropped, {"rowsDropped"}),
        (_written, {"rowsWritten"}),
        (_layout, {"partitionFolders"}),
    ],
)
def test_whole_job_agreement_catches_each_kind_of_disagreement(
    tiny: Path,
    results: dict[str, engines.Result],
    tamper: Callable[[whole.ProcessRun], None],
    caught: set[str],
) -> None:
    dataset, runs = process_runs(tiny, results)
    tamper(runs["job"][0])
    spec = whole.pipeline_spec(dataset, 2)
    checks = whole.agreement(dataset, spec, runs, SKETCH)
    assert {check.name for check in agree.failures(checks)} == caught


def test_a_disagreement_makes_the_command_exit_6(
    tiny: Path,
    results: dict[str, engines.Result],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, runs = process_runs(tiny, results)
    job = runs["job"][0].result
    assert job is not None
    job.describe["tripDistance"]["max"] += 1.0
    # The timed runs are replaced by these (no process started); the checks are real.
    monkeypatch.setattr(whole, "alternate", lambda *args, **kwargs: runs)
    data_dir = tiny.parent.parent
    argv = ["--data-dir", str(data_dir), "--rows", str(ROWS), "--only", "whole"]
    argv += ["--repeat", "1", "--no-progress", "--json", str(data_dir / "r.json")]
    assert main(argv) == EXIT_DISAGREE
    assert "DISAGREE tripDistance.max" in capsys.readouterr().out
    assert json.loads((data_dir / "r.json").read_text())["agreement"] is False


def test_stage_diagnostic_is_summarised_under_its_own_heading(
    results: dict[str, engines.Result],
) -> None:
    measurement = stages.Measurement(rows=ROWS, files=12)
    for key, result in results.items():
        measurement.keep(key, result)
    options = Options(Path("."), ROWS, (ROWS,), sections=("main",))
    out = stages.summarise({"measurements": {ROWS: measurement}}, options)
    assert out["sizes"][0]["jobVsDuckdb"] > 0 and out["sizes"][0]["jobVsFloor"] > 0
    printed = "\n".join(stages.render(out))
    assert "Stages (diagnostic, warm cluster, not what a user waits for)" in printed


def test_full_run_writes_tables_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "record.json"
    # growth's sizes are the whole and overhead sections' sizes: their job runs are reused.
    argv = ["--data-dir", str(tmp_path), "--rows", "2400", "--sizes", "1000,2400"]
    argv += ["--wide-rows", "1200", "--memory-rows", "4800", "--memory-limit", "1GiB"]
    argv += ["--repeat", "1", "--no-progress", "--json", str(record)]
    assert main(argv) == 0
    out = json.loads(record.read_text())
    assert out["agreement"] is True
    assert "stages" not in out  # the diagnostic is not part of the default run
    for section, rows in (("whole", 2400), ("shape", 1200), ("overhead", 1000)):
        three = out[section]
        assert three["rows"] == rows and three["agree"] is True
        assert all(check["ok"] for check in three["checks"])
        names = {c["name"] for c in three["checks"]}
        assert {"rows", "rowsDropped", "rowsWritten", "partitionFolders", "daily.days"} <= names
        assert any(name.endswith("%") for name in names)  # quartiles against the bound
        assert any(name.startswith("droppedBy.") for name in names)
        assert set(three["runs"]) == {"job", "duckdb", "floor"}
        assert three["jobVsDuckdb"] > 0 and three["jobVsFloor"] > 0
        assert three["jobStages"]["pass"] > 0  # the job's own stages stay, as context
        assert len(three["peakWorkerBytes"]) == 2
    assert out["shape"]["dataset"]["shape"] == "wide"
    growth = out["growth"]
    assert [(p["rows"], p["reused"]) for p in growth["sizes"]] == [(1000, True), (2400, True)]
    assert growth["exponent"] is not None
    memory = out["memory"]
    assert memory["rows"] == 4800 and memory["exitCode"] == 0 and memory["agree"] is True
    assert all(peak > 0 for peak in memory["peakWorkerBytes"].values())
    assert set(out["targets"]) == set(report.TARGETS)
    assert out["targets"]["memoryExitCode"]["met"] is True
    assert out["machine"]["cpus"] >= 1 and out["commandLine"]
    printed = capsys.readouterr().out
    assert "Whole job as a user runs it (seconds, median)" in printed
    for heading in ("overhead, 1,000 taxi rows", "growth, job alone", "memory, 4,800", "targets:"):
        assert heading in printed
    assert "Stages (diagnostic" not in printed


def test_memory_targets_from_the_jobs_cluster_figures() -> None:
    gib = 2**30
    reported = {
        "exitCode": 0,
        "dataset": {"bytesOnDisk": 10 * gib},
        "memoryLimitBytes": 2 * gib,
        "peakWorkerBytes": {"a": gib, "b": 3 * gib},
        "spilledBytesTotal": 2 * gib,
        "workersLost": 0,
    }
    values = report.memory_values(reported)
    assert values == {
        "memoryExitCode": 0,
        "memoryWorkersLost": 0,
        "memorySpilledShareOfDisk": 0.2,
        "memoryPeakWorkerShareOfLimit": 1.5,
    }
    verdicts = {name: report.verdict(v, *report.TARGETS[name]) for name, v in values.items()}
    assert verdicts == {
        "memoryExitCode": True,
        "memoryWorkersLost": True,
        "memorySpilledShareOfDisk": False,  # a spill storm: 20% of the files' size
        "memoryPeakWorkerShareOfLimit": False,  # one worker above its limit
    }
    absent = {**reported, "peakWorkerBytes": None, "spilledBytesTotal": None, "workersLost": None}
    assert [report.verdict(v, "<=", 1) for v in report.memory_values(absent).values()] == [
        True,
        None,
        None,
        None,
    ]  # not reported by the job: not measured, never met
