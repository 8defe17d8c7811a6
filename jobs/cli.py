"""`python -m jobs`: make sample data, run the analysis, submit it to Azure ML.

Exit codes: 0 success; 1 unexpected error (a bug: traceback printed); 2 bad command line;
3 invalid input (stack outputs file, flag value, dataset, column, output folder);
4 a service unreachable or not signed in (storage, Azure, a Dask scheduler); 5 the Azure ML
job did not complete (`submit --wait`); 130 interrupted (Ctrl-C or SIGTERM; what the run
staged is removed). See docs/exit-codes.md.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from typing import Any

from jobs import cluster
from jobs.errors import EXIT_INTERRUPTED, EXIT_OK, JobsError
from jobs.sizing import DEFAULT_NODES

EPILOG = (
    "exit codes: 0 success, 1 unexpected error, 2 bad command line, 3 invalid input, "
    "4 service unreachable or not signed in, 5 Azure ML job did not complete, 130 interrupted"
)
log = logging.getLogger("jobs")


def _column_list(text: str) -> tuple[str, ...]:
    columns = tuple(part.strip() for part in text.split(",") if part.strip())
    if not columns:
        raise argparse.ArgumentTypeError("expected comma-separated column names")
    return columns


def _positive(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def _year_month(text: str) -> tuple[int, int]:
    try:
        year, month = (int(part) for part in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM, got {text!r}") from None
    if not 1 <= month <= 12 or not 1900 <= year <= 2200:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM, got {text!r}")
    return year, month


MEMORY_FORMS = "'auto', a number of bytes, a size such as 4GiB or 4GB, or a fraction 0-1"


def _memory_limit(text: str) -> str | float:
    """A worker memory limit in a form `distributed` accepts, checked before any cluster."""
    # https://distributed.dask.org/en/stable/api.html#distributed.LocalCluster (memory_limit)
    from dask.utils import parse_bytes

    text = text.strip()
    if text == "auto":
        return text
    try:
        fraction = float(text)
    except ValueError:
        fraction = 0.0
    if "." in text and 0 < fraction <= 1:
        return fraction
    try:
        if parse_bytes(text) > 0:
            return text
    except (ValueError, TypeError):
        pass
    raise argparse.ArgumentTypeError(f"expected {MEMORY_FORMS}; got {text!r}")


def _dashboard_address(text: str) -> str:
    """`[HOST]:PORT` for the live dashboard, checked before any cluster starts."""
    host, colon, port = text.strip().rpartition(":")
    if not colon or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected [HOST]:PORT, e.g. 127.0.0.1:8787; got {text!r}")
    try:
        socket.getaddrinfo(host or None, int(port))
    except (OSError, UnicodeError):
        raise argparse.ArgumentTypeError(
            f"host {host!r} of {text!r} is not an address here"
        ) from None
    return text.strip()


def _on_interrupt(signum: int, frame: Any) -> None:
    """Ctrl-C or SIGTERM: abort the run (it removes its staging folder) without noise.

    Tearing the cluster down cancels the gathers in flight, and asyncio then logs each
    cancelled one with a traceback: expected on an interrupt, not what the user should read.
    """
    for name in ("asyncio", "distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    raise KeyboardInterrupt


def _analysis_flags() -> argparse.ArgumentParser:
    from jobs.analysis import AnalysisOptions

    defaults = AnalysisOptions()
    flags = argparse.ArgumentParser(add_help=False)
    group = flags.add_argument_group("analysis")
    group.add_argument(
        "--time-column",
        default=defaults.time_column,
        help="timestamp column for the daily averages (default: %(default)s)",
    )
    group.add_argument(
        "--numeric-columns",
        type=_column_list,
        metavar="A,B,...",
        help="columns to describe and average (default: every integer and float column)",
    )
    group.add_argument(
        "--keep-columns",
        type=_column_list,
        metavar="A,B,...",
        help="columns of the prepared dataset besides those analysed (default: every column)",
    )
    group.add_argument(
        "--sketch-size",
        type=_positive,
        default=defaults.sketch_size,
        help="quantile sketch points per partition; rank error <= rows/N + partitions "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--no-prepared",
        action="store_true",
        help="skip writing the prepared dataset (the counts are still reported)",
    )
    return flags


def _add_threads_per_worker(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--threads-per-worker",
        type=_positive,
        default=cluster.DEFAULT_THREADS_PER_WORKER,
        help="threads in each worker process (default: %(default)s)",
    )


def _cluster_flags() -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(add_help=False)
    group = flags.add_argument_group("Dask workers")
    _add_threads_per_worker(group)
    group.add_argument(
        "--memory-limit",
        type=_memory_limit,
        default=cluster.DEFAULT_MEMORY_LIMIT,
        help="memory per worker, e.g. 4GiB, or 'auto' for an even share (default: %(default)s)",
    )
    return flags


def _stack_flags() -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(add_help=False)
    stack = flags.add_argument_group("stack outputs")
    stack.add_argument("--stack", help="stack name for `pulumi stack output --json`")
    stack.add_argument("--outputs", metavar="FILE.json", help="saved `pulumi stack output --json`")
    return flags


def _job_flags() -> argparse.ArgumentParser:
    """The flags of the Azure ML job, shared by `submit` and `schedule create`."""
    from jobs import submit

    flags = argparse.ArgumentParser(add_help=False, parents=[_stack_flags()])
    data = flags.add_argument_group("data")
    data.add_argument("--input", required=True, help="dataset folder inside the datastore")
    data.add_argument("--datastore", help="datastore of the input (default: the stack's first)")
    data.add_argument(
        "--input-mode",
        choices=submit.INPUT_MODES,
        default=submit.JobSettings.input_mode,
        help="mount the input read-only, or pass its URI for adlfs (default: %(default)s)",
    )
    data.add_argument("--output-datastore", help="datastore for the report (default: the input's)")
    data.add_argument(
        "--output-path", help="report folder inside that datastore (default: reports/<job name>)"
    )
    compute = flags.add_argument_group("compute")
    compute.add_argument("--compute", help="compute cluster (default: the stack's first)")
    compute.add_argument(
        "--instance-count",
        type=_positive,
        help=f"nodes (default: {DEFAULT_NODES}, at most the cluster's maxNodes)",
    )
    compute.add_argument(
        "--processes-per-instance",
        type=_positive,
        help="MPI processes per node (default: one per vCPU of the cluster's VM size)",
    )
    _add_threads_per_worker(compute)
    compute.add_argument(
        "--memory-limit",
        type=_memory_limit,
        help="memory per worker, e.g. 3GiB (default: the VM's memory less headroom, shared "
        "evenly by the node's processes)",
    )
    job = flags.add_argument_group("job")
    job.add_argument(
        "--experiment",
        default=submit.DEFAULT_EXPERIMENT,
        help="experiment (default: %(default)s)",
    )
    return flags


def build_parser() -> argparse.ArgumentParser:
    """The `python -m jobs` parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="python -m jobs",
        description="Dask analysis of a parquet dataset: locally, under MPI, or on Azure ML.",
        epilog=EPILOG,
    )
    from jobs.sample import DEFAULT_ROWS, SampleSpec

    sample_defaults = SampleSpec(rows=DEFAULT_ROWS)
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sample = commands.add_parser(
        "sample-data",
        help="write a deterministic NYC-taxi-like parquet dataset",
        description="Write yellow-taxi-like trips as parquet partitioned puYear=/puMonth=, "
        "to a folder or an abfs(s):// URL.",
        epilog=EPILOG,
    )
    sample.add_argument("--output", required=True, help="folder or abfs(s):// URL to write")
    sample.add_argument(
        "--rows", type=_positive, default=sample_defaults.rows, help="rows (default: %(default)s)"
    )
    sample.add_argument(
        "--start",
        type=_year_month,
        default=(sample_defaults.start_year, sample_defaults.start_month),
        metavar="YYYY-MM",
        help=f"first month (default: {sample_defaults.start_year}-"
        f"{sample_defaults.start_month:02d})",
    )
    sample.add_argument(
        "--months",
        type=_positive,
        default=sample_defaults.months,
        help="months (default: %(default)s)",
    )
    sample.add_argument(
        "--seed",
        type=int,
        default=sample_defaults.seed,
        help="random seed (default: %(default)s)",
    )
    sample.add_argument(
        "--rows-per-file",
        type=_positive,
        default=sample_defaults.rows_per_file,
        help="largest file, in rows (default: %(default)s)",
    )
    sample.add_argument("--overwrite", action="store_true", help="replace existing content")
    sample.add_argument("--no-progress", action="store_true", help="no progress bar")

    run = commands.add_parser(
        "run",
        help="run the analysis on a local Dask cluster, a running scheduler, or under MPI",
        description="Analyse a parquet dataset and commit the report (summary.json, "
        "describe.csv, daily_means.csv/.png, prepared/) to --output.",
        parents=[_analysis_flags(), _cluster_flags()],
        epilog=EPILOG,
    )
    run.add_argument("--input", required=True, help="dataset: folder, abfs(s):// or azureml:// URI")
    run.add_argument("--output", required=True, help="report folder or abfs(s):// URL")
    run.add_argument("--overwrite", action="store_true", help="replace the report folder's content")
    where = run.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="use a running Dask scheduler, e.g. tcp://host:8786"
    )
    where.add_argument(
        "--mpi",
        action="store_true",
        help="start Dask with dask-mpi (under mpirun, or on Azure ML)",
    )
    run.add_argument(
        "--workers",
        type=_positive,
        default=cluster.DEFAULT_WORKERS,
        help="local cluster worker processes (default: %(default)s)",
    )
    where.add_argument(
        "--dashboard",
        nargs="?",
        const=cluster.LOCAL_DASHBOARD_ADDRESS,
        type=_dashboard_address,
        metavar="ADDRESS",
        help="serve the local cluster's live Dask dashboard while the run lasts, at ADDRESS "
        f"(default {cluster.LOCAL_DASHBOARD_ADDRESS}); the performance report is written "
        "either way",
    )

    submit_command = commands.add_parser(
        "submit",
        help="submit the analysis as an Azure ML MPI command job on the stack's compute cluster",
        description="Build the command job from the stack outputs and submit it, or print "
        "its YAML with --dry-run. Signs in with DefaultAzureCredential.",
        parents=[_analysis_flags(), _job_flags()],
        epilog=EPILOG,
    )
    job = submit_command.add_argument_group("submission")
    job.add_argument("--job-name", help="job name (default: dask-analysis-<UTC time>-<random>)")
    job.add_argument("--dry-run", action="store_true", help="print the job YAML; submit nothing")
    job.add_argument("--wait", action="store_true", help="stream the job's logs until it ends")
    _add_schedule_parser(commands)
    return parser


def _add_schedule_parser(commands: Any) -> None:
    """`schedule create|list|show|disable|enable|delete`: recurring runs of `submit`'s job."""
    schedule = commands.add_parser(
        "schedule",
        help="run the Azure ML job on a schedule (cron or recurrence), and manage schedules",
        description="Create an Azure ML job schedule for the job `submit` builds, or list, "
        "show, disable, enable or delete schedules. Each run writes its report under "
        "<output path>/<its job name>. Signs in with DefaultAzureCredential.",
        epilog=EPILOG,
    )
    actions = schedule.add_subparsers(dest="schedule_action", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create",
        help="create or replace a schedule",
        description="Build the schedule from the stack outputs and submit's flags; "
        "--output-path is a prefix (default reports/<schedule>) that each run extends with "
        "its own job name.",
        parents=[_analysis_flags(), _job_flags()],
        epilog=EPILOG,
    )
    when = create.add_argument_group("schedule")
    when.add_argument("--name", required=True, help="schedule name (letters, digits, - and _)")
    trigger = when.add_mutually_exclusive_group(required=True)
    trigger.add_argument(
        "--cron",
        metavar="EXPRESSION",
        help="MINUTES HOURS DAYS MONTHS DAYS-OF-WEEK, e.g. '0 2 * * *'",
    )
    trigger.add_argument(
        "--frequency", choices=("minute", "hour", "day", "week", "month"), help="recurrence unit"
    )
    when.add_argument(
        "--interval", type=_positive, default=1, help="recurrence units between runs (default: 1)"
    )
    when.add_argument("--at", metavar="HH:MM", help="time of day (with day, week or month)")
    when.add_argument(
        "--week-days",
        type=_column_list,
        default=(),
        metavar="DAY,...",
        help="days of the week, e.g. monday,thursday (with week or month)",
    )
    when.add_argument(
        "--time-zone",
        default="UTC",
        help="'UTC', 'UTC-08' or a Windows name such as 'Pacific Standard Time' (default: UTC)",
    )
    when.add_argument(
        "--start-time", metavar="YYYY-MM-DDTHH:MM", help="first possible run, local to --time-zone"
    )
    when.add_argument("--description", help="schedule description")
    when.add_argument(
        "--dry-run", action="store_true", help="print the schedule YAML (validated); send nothing"
    )
    actions.add_parser(
        "list", help="list the workspace's schedules", parents=[_stack_flags()], epilog=EPILOG
    )
    for action, text in (
        ("show", "print a schedule as YAML"),
        ("disable", "stop a schedule from triggering jobs"),
        ("enable", "let a disabled schedule trigger jobs again"),
        ("delete", "delete a schedule (the jobs it triggered stay)"),
    ):
        one = actions.add_parser(action, help=text, parents=[_stack_flags()], epilog=EPILOG)
        one.add_argument("name", metavar="NAME", help="schedule name")


def _analysis_options(args: argparse.Namespace) -> Any:
    from jobs.analysis import AnalysisOptions

    return AnalysisOptions(
        time_column=args.time_column,
        numeric_columns=args.numeric_columns,
        keep_columns=args.keep_columns,
        sketch_size=args.sketch_size,
        write_prepared=not args.no_prepared,
        overwrite=getattr(args, "overwrite", False),
    )


def _sample_data(args: argparse.Namespace) -> int:
    from jobs.data import resolve
    from jobs.sample import SampleSpec, write_sample

    spec = SampleSpec(
        rows=args.rows,
        start_year=args.start[0],
        start_month=args.start[1],
        months=args.months,
        seed=args.seed,
        rows_per_file=args.rows_per_file,
    )
    location = resolve(args.output)
    files = write_sample(location, spec, overwrite=args.overwrite, progress=not args.no_progress)
    print(f"wrote {args.rows:,} rows in {len(files)} files under {location}")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from jobs.analysis import check, execute
    from jobs.cluster import ClusterSpec, dask_client
    from jobs.data import check_apart, resolve

    options = _analysis_options(args)
    check_apart(resolve(args.input), resolve(args.output))
    spec = ClusterSpec(
        scheduler=args.scheduler,
        mpi=args.mpi,
        workers=args.workers,
        threads_per_worker=args.threads_per_worker,
        memory_limit=args.memory_limit,
        dashboard_address=args.dashboard,
    )
    if args.mpi:
        # Every rank runs this command; only rank 1 (the client) enters the block, so only
        # it checks the input and output.
        with dask_client(spec):
            summary = execute(check(args.input, args.output, options))
    else:
        run = check(args.input, args.output, options)  # before starting any cluster
        # The report needs pandas only after the pass: import it while the workers start,
        # a wait in which this process is otherwise idle.
        threading.Thread(target=importlib.import_module, args=("pandas",), daemon=True).start()
        try:
            with dask_client(spec):
                summary = execute(run)
        except BaseException:
            # Workers may still have been writing when the run aborted: clean up again now
            # that the cluster is gone, so nothing staged survives.
            run.staged.abort()
            raise
    _print_summary(summary)
    return EXIT_OK


def _print_summary(summary: dict[str, Any]) -> None:
    prepared = summary["prepared"]
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in summary["timings"].items())
    print(
        f"{summary['rows']:,} rows in {summary['files']} files; "
        f"{prepared['rowsDropped']:,} invalid rows dropped, {prepared['rowsOut']:,} prepared\n"
        f"stages: {timings}\n"
        f"summary: {summary['output'].rstrip('/')}/summary.json\n"
        f"plot:    {summary['output'].rstrip('/')}/daily_means.png",
        flush=True,
    )


def _job_settings(args: argparse.Namespace, job_name: str | None = None) -> Any:
    from jobs import submit

    return submit.JobSettings(
        input_path=args.input,
        input_mode=args.input_mode,
        datastore=args.datastore,
        output_datastore=args.output_datastore,
        output_path=args.output_path,
        compute=args.compute,
        instance_count=args.instance_count,
        processes_per_instance=args.processes_per_instance,
        worker_threads=args.threads_per_worker,
        memory_limit=args.memory_limit,
        experiment=args.experiment,
        job_name=job_name,
    )


def _submit(args: argparse.Namespace) -> int:
    from jobs import submit
    from jobs.stack import read_stack

    stack = read_stack(args.stack, args.outputs)
    settings = _job_settings(args, args.job_name)
    options = _analysis_options(args)
    if args.dry_run:
        submit.print_dry_run(stack, settings, options)
    else:
        submit.submit(stack, settings, options, wait=args.wait)
    return EXIT_OK


def _schedule(args: argparse.Namespace) -> int:
    from jobs import schedule
    from jobs.stack import read_stack

    stack = read_stack(args.stack, args.outputs)
    if args.schedule_action == "create":
        settings = _job_settings(args)
        built = schedule.build_schedule(
            stack,
            settings,
            _analysis_options(args),
            schedule.ScheduleSettings(
                name=args.name,
                cron=args.cron,
                frequency=args.frequency,
                interval=args.interval,
                at=args.at,
                week_days=args.week_days,
                time_zone=args.time_zone,
                start_time=args.start_time,
                description=args.description,
            ),
        )
        if args.dry_run:
            schedule.print_dry_run(built)
        else:
            schedule.create(stack, settings, built)
    elif args.schedule_action == "list":
        schedule.list_schedules(stack)
    elif args.schedule_action == "show":
        schedule.show(stack, args.name)
    else:
        schedule.change(stack, args.name, args.schedule_action)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; return the process exit code."""
    args = build_parser().parse_args(argv)
    # Our stages at INFO; Dask's own chatter only from WARNING up.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("jobs").setLevel(logging.WARNING if args.quiet else logging.INFO)
    handlers = {
        "sample-data": _sample_data,
        "run": _run,
        "submit": _submit,
        "schedule": _schedule,
    }
    previous = signal.signal(signal.SIGTERM, _on_interrupt)
    previous_sigint = signal.signal(signal.SIGINT, _on_interrupt)
    try:
        return handlers[args.command](args)
    except JobsError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted; what this run staged was removed", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_sigint)
