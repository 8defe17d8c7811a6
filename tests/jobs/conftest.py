"""Fixtures for the jobs tests: small datasets, a shared local Dask cluster, Azurite."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from jobs.data import resolve
from jobs.sample import SampleSpec, write_sample

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
STACK_OUTPUTS = Path(__file__).with_name("stack-outputs.dev.json")
# Small but multi-file: 3 months x 2 files, so the persist trap would show.
TAXI_SPEC = SampleSpec(rows=36_000, months=3, rows_per_file=7_000, seed=7)
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Client]:
    """One two-worker process cluster for the tests that only need *a* cluster."""
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="session")
def taxi_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The yellow-taxi sample, partitioned puYear=/puMonth=, six files."""
    root = tmp_path_factory.mktemp("taxi") / "data"
    write_sample(resolve(str(root)), TAXI_SPEC, progress=False)
    return root


@pytest.fixture(scope="session")
def sensor_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A non-taxi dataset: sensor readings in four flat files, with some missing values."""
    root = tmp_path_factory.mktemp("sensors") / "data"
    root.mkdir()
    rng = np.random.default_rng(11)
    for index in range(4):
        rows = 5_000
        start = pd.Timestamp("2025-06-01") + pd.Timedelta(days=9 * index)
        temperature = rng.normal(21.0, 4.0, rows)
        temperature[rng.random(rows) < 0.01] = np.nan
        frame = pd.DataFrame(
            {
                "readingTime": start + pd.to_timedelta(rng.integers(0, 9 * 86_400, rows), "s"),
                "sensorId": rng.choice(["a", "b", "c"], rows),
                "temperature": temperature,
                "humidity": rng.uniform(20, 90, rows),
                "batteryLevel": rng.integers(0, 101, rows),
            }
        )
        frame.to_parquet(root / f"readings-{index}.parquet", index=False)
    return root


@pytest.fixture(scope="session")
def slow_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Big enough that a local run takes several seconds, so it can be interrupted."""
    root = tmp_path_factory.mktemp("slow") / "data"
    write_sample(resolve(str(root)), SampleSpec(rows=2_000_000, months=2), progress=False)
    return root


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def azurite_binary() -> str:
    """The azurite-blob executable, from scripts/bootstrap or PATH; fail loudly if absent."""
    local = REPOSITORY_ROOT / ".tools" / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    found = shutil.which("azurite-blob")
    if found:
        return found
    pytest.fail(
        "Azurite is not installed: run `scripts/bootstrap --with-system` (npm install of "
        "azurite into .tools/) or put azurite-blob on PATH"
    )


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Azure Blob API server on 127.0.0.1; yields its connection string."""
    port = _free_port()
    folder = tmp_path_factory.mktemp("azurite")
    process = subprocess.Popen(
        [
            azurite_binary(),
            "--location",
            str(folder),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--skipApiVersionCheck",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"Azurite did not start on port {port}: {error}")
                time.sleep(0.2)
        yield (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
        )
    finally:
        # Azurite keeps the clients' keep-alive connections open for seconds after SIGTERM
        # (5-12 s of every suite's end); its data is this session's scratch, so don't wait.
        process.terminate()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No storage or tracking settings leak in from the machine running the tests."""
    for name in (
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_STORAGE_ACCOUNT_NAME",
        "MLFLOW_TRACKING_URI",
        "JOBS_DATASTORE_URLS",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def tree(path: Path) -> list[str]:
    """Every file and folder under `path`, relative, sorted."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []
