"""What runs on every process of the Azure ML MPI job (and under `mpirun` locally).

`dask_mpi.initialize()` (in jobs/cluster.py) makes MPI rank 0 the Dask scheduler and ranks 2
and up workers (those calls block until the analysis ends); rank 1 returns and runs the
analysis as a client.
Usage: `mpirun -np 4 python -m jobs.entry --input DATASET --output REPORT [run flags]`, the
same as `python -m jobs run --mpi ...`.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """`python -m jobs.entry ARGS` is `python -m jobs run --mpi ARGS`."""
    from jobs.cli import main as cli_main

    args = sys.argv[1:] if argv is None else argv
    return cli_main(["run", "--mpi", *args])


if __name__ == "__main__":
    sys.exit(main())
