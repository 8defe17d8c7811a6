"""Start or join the Dask cluster a run uses: local, at an address, or under MPI.

One call, whatever the kind, and the analysis never sees how its cluster came to be (the
dask-mpi model). The CLI, the Azure ML entry point and the benchmark all start clusters
here, so every run warms its workers and reports its dashboard the same way.

- `local`: a `LocalCluster` of worker processes in this machine;
- `address`: a running scheduler (`tcp://host:8786`);
- `mpi`: `dask_mpi.initialize()`; MPI rank 0 becomes the scheduler and ranks 2 and up
  workers (those calls block until the client is done); rank 1 returns as the client.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobs.errors import InvalidInputError, ServiceUnreachableError

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 2
DEFAULT_THREADS_PER_WORKER = 1
# `distributed`'s even share per worker; `submit` passes an explicit limit (jobs/sizing.py).
DEFAULT_MEMORY_LIMIT = "auto"
SCHEDULER_TIMEOUT = "5s"
# On Azure ML the dashboard listens on every interface of the scheduler node, for a compute
# instance in the same virtual network to open.
MPI_DASHBOARD_ADDRESS = ":8787"
LOCAL_DASHBOARD_ADDRESS = "127.0.0.1:8787"  # `run --dashboard`: this machine only


@dataclass(frozen=True)
class ClusterSpec:
    """Which cluster to use and how to size its workers."""

    scheduler: str | None = None  # join a running scheduler at this address
    mpi: bool = False  # start one with dask-mpi
    workers: int = DEFAULT_WORKERS  # local cluster only
    threads_per_worker: int = DEFAULT_THREADS_PER_WORKER
    memory_limit: str | float | int = DEFAULT_MEMORY_LIMIT
    # local: serve the live dashboard at this address (":8787"); None: no live dashboard.
    dashboard_address: str | None = None
    silence_logs: int = logging.WARNING  # local: the workers' log level

    @property
    def kind(self) -> str:
        if self.mpi:
            return "mpi"
        return "address" if self.scheduler else "local"


@contextmanager
def dask_client(spec: ClusterSpec) -> Iterator[Client]:
    """A connected, warmed-up client on the cluster `spec` names; closed on exit.

    Under MPI only rank 1 enters the block; dask-mpi shuts the scheduler and workers down
    when that process exits.
    """
    from distributed import Client, LocalCluster

    from jobs.frames import warm_up_workers

    if spec.mpi:
        client = start_mpi(spec.threads_per_worker, spec.memory_limit)
        yield client
        return
    if spec.scheduler:
        with _join(spec.scheduler) as client:
            warm_up_workers(client)
            _announce(client, spec.kind)
            yield client
        return
    # The in-process scheduler's lifecycle chatter buries the report; keep its warnings.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    with ExitStack() as running:
        # A cluster interrupted half-started cannot be closed (distributed's exit handler
        # then fails on its unstarted workers, with a traceback): Ctrl-C or SIGTERM during
        # the start takes effect once it is up, here, where `running` closes it.
        with _interrupts_deferred():
            try:
                local = LocalCluster(
                    n_workers=spec.workers,
                    threads_per_worker=spec.threads_per_worker,
                    processes=True,
                    memory_limit=spec.memory_limit,
                    silence_logs=spec.silence_logs,
                    **_dashboard_options(spec.dashboard_address),
                )
            except (RuntimeError, OSError) as error:
                if not spec.dashboard_address:
                    raise
                raise InvalidInputError(
                    f"the local Dask cluster could not serve its dashboard at "
                    f"{spec.dashboard_address} ({error}); give --dashboard an address of this "
                    "machine, e.g. 127.0.0.1:8787"
                ) from None
            cluster = running.enter_context(local)
            client = running.enter_context(Client(cluster))
        warm_up_workers(client)
        _announce(client, spec.kind)
        yield client


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the block and deliver them, to the handlers in place
    before it, when the block ends (the main thread only; elsewhere signals go nowhere)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    kinds = (signal.SIGINT, signal.SIGTERM)
    previous = {
        kind: signal.signal(kind, lambda signum, frame: held.append(signum)) for kind in kinds
    }
    try:
        yield
    finally:
        for kind, handler in previous.items():
            signal.signal(kind, signal.SIG_DFL if handler is None else handler)
        for signum in dict.fromkeys(held):
            signal.raise_signal(signum)


@contextmanager
def _join(address: str) -> Iterator[Client]:
    from distributed import Client

    try:
        client = Client(address, timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as error:
        raise ServiceUnreachableError(
            f"cannot reach the Dask scheduler {address} within {SCHEDULER_TIMEOUT}: "
            f"{type(error).__name__}: {error}"
        ) from None
    with client:
        yield client


def start_mpi(threads_per_worker: int, memory_limit: str | float | int) -> Client:
    """Start the MPI Dask cluster; only rank 1 returns, with a connected, warmed-up client.

    Records the scheduler and dashboard addresses in the rank's log and, when MLflow
    tracking is configured, as tags of the run.
    """
    import dask_mpi
    from distributed import Client

    from jobs import report
    from jobs.frames import warm_up_workers

    try:
        dask_mpi.initialize(
            nthreads=threads_per_worker,
            memory_limit=memory_limit,
            dashboard_address=MPI_DASHBOARD_ADDRESS,
        )
    except dask_mpi.WorldTooSmallException as error:
        raise InvalidInputError(f"{error} (start more MPI processes)") from None
    client = Client()
    warm_up_workers(client)
    address, dashboard = _announce(client, "mpi")
    print(f"Dask scheduler: {address}\nDask dashboard: {dashboard}", flush=True)
    report.tag_run({"dask.scheduler": address, "dask.dashboard": dashboard})
    return client


def current_client() -> Client | None:
    """The distributed client this process is using, or None (Dask's local scheduler)."""
    from distributed import get_client

    try:
        return get_client()
    except ValueError:
        return None


def _dashboard_options(address: str | None) -> dict[str, Any]:
    """LocalCluster options for a live dashboard at `address`, or for none.

    A local run's dashboard is opt-in: its bokeh server costs about a quarter of a second
    before the first worker starts, more than the whole analysis of a small dataset, and
    the performance report keeps the same plots after the run either way. Without one, the
    scheduler's HTTP server (health and metrics only) takes a free port, not 8787, so that
    runs side by side do not contend for it.
    """
    if address:
        return {"dashboard_address": address}
    return {"dashboard_address": ":0", "scheduler_kwargs": {"dashboard": False}}


def _serves_dashboard(dask_scheduler: Any) -> bool:
    return bool(getattr(dask_scheduler.http_application, "applications", ()))


def dashboard_link(client: Client) -> str | None:
    """The address of the scheduler's live dashboard, or None when it serves none."""
    if not client.run_on_scheduler(_serves_dashboard):
        return None
    return str(client.dashboard_link)


def _announce(client: Client, kind: str) -> tuple[str, str]:
    address = str(client.scheduler_info().get("address"))
    dashboard = dashboard_link(client) or "none (--dashboard serves one)"
    log.info("%s Dask cluster: scheduler %s, dashboard %s", kind, address, dashboard)
    return address, dashboard
