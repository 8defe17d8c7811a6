"""Bad input: each a clear error naming the culprit, raised before any output is written."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs.analysis import AnalysisOptions, analyze
from jobs.cli import main
from jobs.data import REPORT_MARKER, resolve
from jobs.errors import EXIT_INTERRUPTED, InvalidInputError, StorageUnreachableError
from tests.jobs.conftest import REPOSITORY_ROOT, tree


def copy_dataset(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def test_dataset_path_that_does_not_exist(tmp_path: Path, clean_env) -> None:
    missing = tmp_path / "no-such-dataset"
    with pytest.raises(InvalidInputError, match=f"dataset {missing} does not exist"):
        analyze(str(missing), str(tmp_path / "report"))
    assert tree(tmp_path) == []


def test_empty_dataset_folder(tmp_path: Path, clean_env) -> None:
    (tmp_path / "data" / "puYear=2024").mkdir(parents=True)
    with pytest.raises(InvalidInputError, match="is empty: it holds no parquet files"):
        analyze(str(tmp_path / "data"), str(tmp_path / "report"))
    assert not (tmp_path / "report").exists()


def test_dataset_with_zero_rows(tmp_path: Path, clean_env) -> None:
    (tmp_path / "data").mkdir()
    schema = pa.schema([("t", pa.timestamp("us")), ("x", pa.float64())])
    pq.write_table(schema.empty_table(), tmp_path / "data" / "part-0.parquet")
    with pytest.raises(InvalidInputError, match="is empty: its 1 files hold 0 rows"):
        analyze(str(tmp_path / "data"), str(tmp_path / "report"), AnalysisOptions(time_column="t"))
    assert not (tmp_path / "report").exists()


def test_missing_time_column(sensor_dataset: Path, tmp_path: Path, clean_env) -> None:
    with pytest.raises(
        InvalidInputError, match="time column 'pickupTime' is not in dataset"
    ) as error:
        analyze(
            str(sensor_dataset), str(tmp_path / "report"), AnalysisOptions(time_column="pickupTime")
        )
    assert "readingTime" in str(error.value)  # the message lists the columns there are
    assert tree(tmp_path) == []


def test_time_column_that_is_not_a_timestamp(
    sensor_dataset: Path, tmp_path: Path, clean_env
) -> None:
    with pytest.raises(InvalidInputError, match=r"'humidity' .* is double, not a timestamp"):
        analyze(
            str(sensor_dataset), str(tmp_path / "report"), AnalysisOptions(time_column="humidity")
        )
    assert tree(tmp_path) == []


def test_numeric_column_that_is_not_numeric(
    sensor_dataset: Path, tmp_path: Path, clean_env
) -> None:
    options = AnalysisOptions(time_column="readingTime", numeric_columns=("sensorId",))
    with pytest.raises(InvalidInputError, match=r"column 'sensorId' .* not numeric"):
        analyze(str(sensor_dataset), str(tmp_path / "report"), options)
    assert tree(tmp_path) == []


def test_corrupt_parquet_file(sensor_dataset: Path, tmp_path: Path, clean_env) -> None:
    data = copy_dataset(sensor_dataset, tmp_path / "data")
    (data / "readings-2.parquet").write_bytes(b"PAR1 this is not a parquet file")
    with pytest.raises(
        InvalidInputError, match=r"readings-2\.parquet in dataset .* not a readable parquet"
    ):
        analyze(str(data), str(tmp_path / "report"), AnalysisOptions(time_column="readingTime"))
    assert not (tmp_path / "report").exists()


def test_unreachable_storage(tmp_path: Path, clean_env) -> None:
    # Nothing listens on port 9 of localhost: connection refused, after the SDK's retries.
    clean_env.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;",
    )
    with pytest.raises(
        StorageUnreachableError, match="cannot reach the storage behind abfs://data/taxi"
    ):
        analyze("abfs://data/taxi", str(tmp_path / "report"))
    assert tree(tmp_path) == []


def test_output_that_already_has_content(sensor_dataset: Path, tmp_path: Path, clean_env) -> None:
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "keep.txt").write_text("earlier result")
    with pytest.raises(InvalidInputError, match=r"already has content; .* --overwrite"):
        analyze(
            str(sensor_dataset),
            str(tmp_path / "report"),
            AnalysisOptions(time_column="readingTime"),
        )
    assert tree(tmp_path / "report") == ["keep.txt"]


def test_a_failure_mid_run_leaves_nothing_behind(
    sensor_dataset: Path, tmp_path: Path, clean_env
) -> None:
    def fail_at_prepare(stage: str) -> None:
        if stage == "prepare":
            raise RuntimeError("simulated failure")

    with pytest.raises(RuntimeError, match="simulated failure"):
        analyze(
            str(sensor_dataset),
            str(tmp_path / "report"),
            AnalysisOptions(time_column="readingTime"),
            on_stage=fail_at_prepare,
        )
    assert not (tmp_path / "report").exists()


def test_cli_reports_bad_input_with_exit_code_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clean_env
) -> None:
    code = main(
        [
            "-q",
            "run",
            "--input",
            str(tmp_path / "nothing"),
            "--output",
            str(tmp_path / "r"),
            "--workers",
            "1",
        ]
    )
    assert code == 3
    assert f"error: dataset {tmp_path / 'nothing'} does not exist" in capsys.readouterr().err
    assert tree(tmp_path) == []


def test_unsupported_location_scheme(tmp_path: Path, clean_env) -> None:
    with pytest.raises(InvalidInputError, match="s3://bucket/x: unsupported location"):
        analyze("s3://bucket/x", str(tmp_path / "report"))


def hashes(root: Path) -> dict[str, str]:
    """Every file under `root` and its SHA-256, to show nothing the user had changed."""
    import hashlib

    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize(
    ("input_part", "output_part", "problem"),
    [
        ("data", "data", "is the input dataset"),
        ("data", ".", "contains the input dataset"),
        ("data", "data/report", "is inside the input dataset"),
    ],
)
def test_output_overlapping_the_input_is_refused(
    input_part: str,
    output_part: str,
    problem: str,
    sensor_dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    clean_env,
) -> None:
    """#13 items 1-3: --overwrite used to delete the dataset and put the report there."""
    root = tmp_path.resolve() / "project"
    copy_dataset(sensor_dataset, root / "data")
    before = hashes(root)
    source, target = root / input_part, (root / output_part).resolve()
    code, err = run_cli(
        ["run", "--input", str(source), "--output", str(target), "--overwrite",
         "--time-column", "readingTime"],
        capsys,
    )  # fmt: skip
    assert code == 3
    assert f"output {target} {problem} {source}" in err
    assert hashes(root) == before
    assert not (root / "data" / "report").exists()


def test_output_that_is_a_symlink_to_the_input_is_refused(
    sensor_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], clean_env
) -> None:
    tmp_path = tmp_path.resolve()
    data = copy_dataset(sensor_dataset, tmp_path / "data")
    (tmp_path / "link").symlink_to(data, target_is_directory=True)
    (tmp_path / "parent-link").symlink_to(tmp_path, target_is_directory=True)
    before = hashes(data)
    for output in (tmp_path / "link", tmp_path / "parent-link" / "data" / "report"):
        code, err = run_cli(
            ["run", "--input", str(data), "--output", str(output), "--overwrite",
             "--time-column", "readingTime"],
            capsys,
        )  # fmt: skip
        assert code == 3
        assert str(data) in err and "input dataset" in err
    assert hashes(data) == before


def test_data_lake_output_overlapping_the_input_is_refused(clean_env) -> None:
    from jobs.data import check_apart

    clean_env.setenv("AZURE_STORAGE_ACCOUNT_NAME", "acct")
    same = [
        ("abfss://raw@acct.dfs.core.windows.net/taxi", "abfss://raw@ACCT.blob.core.windows.net/taxi/"),
        ("https://acct.blob.core.windows.net/raw/taxi", "abfss://raw@acct.dfs.core.windows.net/taxi/r"),
        ("abfss://raw@acct.dfs.core.windows.net/taxi/2024", "abfs://raw/taxi"),
    ]  # fmt: skip
    for dataset, output in same:
        with pytest.raises(InvalidInputError, match="input dataset"):
            check_apart(resolve(dataset), resolve(output))
    check_apart(
        resolve("abfss://raw@acct.dfs.core.windows.net/taxi"),
        resolve("abfss://raw@acct.dfs.core.windows.net/taxi-report"),
    )
    check_apart(
        resolve("abfss://raw@acct.dfs.core.windows.net/taxi"),
        resolve("abfss://raw@other.dfs.core.windows.net/taxi"),
    )


def test_overwrite_refuses_a_folder_without_a_report_of_this_job(
    sensor_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], clean_env
) -> None:
    """#13 item 3: --overwrite used to delete unrelated files without a word."""
    (tmp_path / "out" / "other-data").mkdir(parents=True)
    (tmp_path / "out" / "notes.txt").write_text("my notes")
    (tmp_path / "out" / "other-data" / "x.parquet").write_text("not ours")
    before = hashes(tmp_path / "out")
    code, err = run_cli(
        ["run", "--input", str(sensor_dataset), "--output", str(tmp_path / "out"),
         "--overwrite", "--time-column", "readingTime"],
        capsys,
    )  # fmt: skip
    assert code == 3
    assert f"output {tmp_path / 'out'} does not hold a report of this job" in err
    assert "found: notes.txt, other-data" in err
    assert hashes(tmp_path / "out") == before


def test_overwrite_refuses_a_report_folder_with_extra_files(
    sensor_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], clean_env
) -> None:
    from jobs.data import REPORT_MARKER

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "summary.json").write_text("{}")
    (tmp_path / "out" / REPORT_MARKER).write_text('{"entries": ["summary.json"]}')
    (tmp_path / "out" / "notes.txt").write_text("added by hand")
    before = hashes(tmp_path / "out")
    code, err = run_cli(
        ["run", "--input", str(sensor_dataset), "--output", str(tmp_path / "out"),
         "--overwrite", "--time-column", "readingTime"],
        capsys,
    )  # fmt: skip
    assert code == 3
    assert "found: notes.txt" in err and "summary.json" not in err.split("found:")[1]
    assert hashes(tmp_path / "out") == before


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_removes_what_it_staged(
    signum: int, slow_dataset: Path, tmp_path: Path
) -> None:
    """#13 item 7: Ctrl-C left a hidden staging folder, and the next run refused the output."""
    output = tmp_path / "report"
    before = hashes(slow_dataset)
    command = [sys.executable, "-m", "jobs", "run", "--input", str(slow_dataset),
               "--output", str(output), "--workers", "1"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPOSITORY_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        # The pass has begun writing: the write probe before the cluster starts makes a
        # staging folder too (an interrupt then: tests/jobs/test_cluster_start.py).
        while not list(output.glob(".staging-*/prepared")) and process.poll() is None:
            assert time.monotonic() < deadline, "the run never started staging"
            time.sleep(0.05)
        # Inside the pass, well before the commit: with the pass now a few tenths of a
        # second per partition, a further wait here could outlast the run.
        assert process.poll() is None, "the run ended before it could be interrupted"
        process.send_signal(signum)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == EXIT_INTERRUPTED, err
    assert "interrupted" in err and "Traceback" not in err
    assert tree(output) == []  # no staging folder, nothing that looks like a report
    assert hashes(slow_dataset) == before
    if signum == signal.SIGINT:
        again = subprocess.run(
            command, cwd=REPOSITORY_ROOT, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert (output / REPORT_MARKER).exists()


@pytest.mark.parametrize("swap", [False, True], ids=["a-first", "b-first"])
@pytest.mark.parametrize(
    ("first", "second", "shown"),
    [
        (pa.array(["1.5", "2"]), pa.array([1.5, 2.0]), ("string in", "double in")),
        (
            pa.array([0, 1], pa.timestamp("us")),
            pa.array([0, 1], pa.timestamp("us", tz="UTC")),
            ("timestamp[us] in", "timestamp[us, tz=UTC] in"),
        ),
    ],
    ids=["string-vs-float", "naive-vs-aware"],
)
def test_a_column_whose_type_differs_between_files(
    first: pa.Array,
    second: pa.Array,
    shown: tuple[str, str],
    swap: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    clean_env,
) -> None:
    """#13 item 5: a TypeError from a worker, or an outcome depending on file order."""
    data = tmp_path / "data"
    data.mkdir()
    times = pa.array([0, 86_400_000_000], pa.timestamp("us"))
    names = ["b.parquet", "a.parquet"] if swap else ["a.parquet", "b.parquet"]
    for name, column in zip(names, (first, second), strict=True):
        pq.write_table(pa.table({"t": times, "value": column}), data / name)
    before = hashes(data)
    code, err = run_cli(
        ["run", "--input", str(data), "--output", str(tmp_path / "out"), "--time-column", "t"],
        capsys,
    )
    assert code == 3
    assert f"column 'value' has different types across the files of dataset {data}" in err
    assert f"{shown[0]} {data / names[0]}" in err and f"{shown[1]} {data / names[1]}" in err
    assert hashes(data) == before
    assert not (tmp_path / "out").exists()
