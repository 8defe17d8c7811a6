"""What runs on every process of the Azure ML MPI job (and under `mpirun` locally).

`dask_mpi.initialize()` makes MPI rank 0 the Dask scheduler and ranks 2 and up workers
(those calls block until the analysis ends); rank 1 returns and runs the analysis as a client.
Usage: `mpirun -np 4 python -m jobs.entry --input DATASET --output REPORT [run flags]`, the
same as `python -m jobs run --mpi ...`.
"""

from __future__ import annotations

import logging
import sys

from jobs.errors import InvalidInputError

log = logging.getLogger(__name__)


def start_mpi_cluster(threads_per_worker: int, memory_limit: str) -> object:
    """Start the MPI Dask cluster; only rank 1 returns, with a connected `Client`."""
    import dask_mpi
    from distributed import Client

    from jobs.frames import warm_up_workers

    # The dashboard listens on all interfaces of the scheduler node, for a compute instance
    # in the same virtual network to open.
    try:
        dask_mpi.initialize(
            nthreads=threads_per_worker,
            memory_limit=memory_limit,
            dashboard_address=":8787",
        )
    except dask_mpi.WorldTooSmallException as error:
        raise InvalidInputError(f"{error} (start more MPI processes)") from None
    client = Client()
    warm_up_workers(client)
    address = client.scheduler_info().get("address")
    dashboard = client.dashboard_link
    log.info("Dask scheduler %s, dashboard %s", address, dashboard)
    print(f"Dask scheduler: {address}\nDask dashboard: {dashboard}", flush=True)
    from jobs import report

    report.tag_run({"dask.scheduler": str(address), "dask.dashboard": str(dashboard)})
    return client


def main(argv: list[str] | None = None) -> int:
    """`python -m jobs.entry ARGS` is `python -m jobs run --mpi ARGS`."""
    from jobs.cli import main as cli_main

    args = sys.argv[1:] if argv is None else argv
    return cli_main(["run", "--mpi", *args])


if __name__ == "__main__":
    sys.exit(main())
