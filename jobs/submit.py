"""Build the Azure ML command job that runs the analysis on the stack's compute cluster, and
submit it (or print it as YAML with `--dry-run`).

The job is an MPI job: Azure ML starts `process_count_per_instance` copies of
`python -m jobs.entry` on each of `instance_count` nodes, and dask-mpi turns rank 0 into the
scheduler, rank 1 into the analysis and every other rank into a worker.
"""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jobs import environment
from jobs.analysis import AnalysisOptions
from jobs.data import DATASTORE_URLS_ENV
from jobs.errors import InvalidInputError, JobFailedError, ServiceUnreachableError
from jobs.sizing import JobSizing, size_job
from jobs.stack import StackOutputs

log = logging.getLogger(__name__)

INPUT_MODES = ("ro_mount", "direct")
DEFAULT_EXPERIMENT = "dask-analysis"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")


@dataclass(frozen=True)
class JobSettings:
    """Everything `submit` needs besides the stack outputs; validated by `validate`."""

    input_path: str
    input_mode: str = "ro_mount"
    datastore: str | None = None
    output_datastore: str | None = None
    output_path: str | None = None
    compute: str | None = None
    # None: sized from the cluster's VM facts (jobs/sizing.py).
    instance_count: int | None = None
    processes_per_instance: int | None = None
    worker_threads: int = 1
    memory_limit: str | float | None = None
    experiment: str = DEFAULT_EXPERIMENT
    job_name: str | None = None
    environment_name: str = environment.ENVIRONMENT_NAME
    base_image: str = environment.BASE_IMAGE

    def validate(self) -> None:
        """Reject settings Azure ML would reject later, naming the flag."""
        if self.input_mode not in INPUT_MODES:
            raise InvalidInputError(
                f"--input-mode {self.input_mode!r} is not one of: {', '.join(INPUT_MODES)}"
            )
        if not self.input_path.strip("/"):
            raise InvalidInputError("--input must be a path inside the datastore, e.g. nyctlc/")
        if "://" in self.input_path:
            raise InvalidInputError(
                f"--input {self.input_path!r} must be a path inside the datastore, not a URL"
            )
        for flag, count in (
            ("--instance-count", self.instance_count),
            ("--processes-per-instance", self.processes_per_instance),
        ):
            if count is not None and count < 1:
                raise InvalidInputError(f"{flag} must be at least 1, got {count}")
        if self.worker_threads < 1:
            raise InvalidInputError(
                f"--threads-per-worker must be at least 1, got {self.worker_threads}"
            )
        for flag, value in (("--experiment", self.experiment), ("--job-name", self.job_name)):
            if value is not None and not _NAME.match(value):
                raise InvalidInputError(
                    f"{flag} {value!r} may hold only letters, digits, '-' and '_'"
                )


def new_job_name(now: datetime | None = None) -> str:
    """A unique, sortable job name such as `dask-analysis-20260101-120000-1a2b3c`."""
    now = now or datetime.now(UTC)
    return f"dask-analysis-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def datastore_uri(datastore: str, path: str) -> str:
    """`azureml://datastores/<name>/paths/<path>` for a folder on a datastore."""
    return f"azureml://datastores/{datastore}/paths/{path.strip('/')}/"


def build_environment(settings: JobSettings) -> Any:
    """The registered environment: the OpenMPI base image plus the locked conda file."""
    from azure.ai.ml.entities import Environment

    conda_text = environment.CONDA_FILE.read_text()
    return Environment(
        name=settings.environment_name,
        version=environment.content_version(settings.base_image, conda_text),
        image=settings.base_image,
        conda_file=str(environment.CONDA_FILE),
        description="Dask on Azure ML over MPI; packages pinned to the project's uv.lock.",
    )


def analysis_arguments(options: AnalysisOptions) -> list[str]:
    """The `jobs.entry` flags that carry the analysis options."""
    args = ["--time-column", options.time_column, "--sketch-size", str(options.sketch_size)]
    if options.numeric_columns:
        args += ["--numeric-columns", ",".join(options.numeric_columns)]
    if options.keep_columns:
        args += ["--keep-columns", ",".join(options.keep_columns)]
    if not options.write_prepared:
        args.append("--no-prepared")
    return args


def job_sizing(stack: StackOutputs, settings: JobSettings) -> JobSizing:
    """Nodes, processes per node and worker memory for the chosen cluster (jobs/sizing.py)."""
    settings.validate()
    compute = stack.compute_cluster(settings.compute)
    return size_job(
        stack.cluster_facts(compute),
        instance_count=settings.instance_count,
        processes_per_instance=settings.processes_per_instance,
        threads_per_worker=settings.worker_threads,
        memory_limit=settings.memory_limit,
        source=stack.source,
    )


def build_job(
    stack: StackOutputs,
    settings: JobSettings,
    options: AnalysisOptions,
    sizing: JobSizing | None = None,
) -> Any:
    """The azure-ai-ml v2 command job for this stack, settings and analysis."""
    from azure.ai.ml import Input, MpiDistribution, Output
    from azure.ai.ml.entities import (
        CommandJob,
        JobResourceConfiguration,
        ManagedIdentityConfiguration,
    )

    sizing = sizing or job_sizing(stack, settings)
    compute = stack.compute_cluster(settings.compute)
    datastore = stack.datastore(settings.datastore)
    output_datastore = stack.datastore(settings.output_datastore or datastore)
    name = settings.job_name or new_job_name()
    output_path = settings.output_path or f"reports/{name}"
    env = build_environment(settings)
    command = " ".join(
        [
            "python -m jobs.entry",
            "--input ${{inputs.dataset}}",
            "--output ${{outputs.report}}",
            "--threads-per-worker",
            str(sizing.threads_per_worker),
            "--memory-limit",
            sizing.memory_limit,
            *(shlex.quote(arg) for arg in analysis_arguments(options)),
        ]
    )
    return CommandJob(
        name=name,
        display_name=f"Dask analysis of {datastore}/{settings.input_path.strip('/')}",
        experiment_name=settings.experiment,
        description="Dask analysis (count, describe, daily means, prepared dataset) over MPI.",
        code=str(environment.REPOSITORY_ROOT),
        command=command,
        environment=f"azureml:{env.name}:{env.version}",
        compute=compute,
        distribution=MpiDistribution(process_count_per_instance=sizing.processes_per_instance),
        resources=JobResourceConfiguration(instance_count=sizing.instance_count),
        inputs={
            "dataset": Input(
                type="uri_folder",
                path=datastore_uri(datastore, settings.input_path),
                mode=settings.input_mode,
            )
        },
        # rw_mount: workers on every node write the prepared dataset into the same folder.
        outputs={
            "report": Output(
                type="uri_folder",
                path=datastore_uri(output_datastore, output_path),
                mode="rw_mount",
            )
        },
        environment_variables={
            # Lets a `direct` input's azureml:// URI resolve to the data lake filesystem.
            DATASTORE_URLS_ENV: json.dumps(stack.datastore_urls(), sort_keys=True),
            # DefaultAzureCredential on the nodes picks the cluster's user-assigned identity.
            "AZURE_CLIENT_ID": stack.compute_cluster_identity_client_id,
        },
        identity=ManagedIdentityConfiguration(client_id=stack.compute_cluster_identity_client_id),
        tags={"workspace": stack.workspace_name, "datastore": datastore},
    )


def job_yaml(job: Any) -> str:
    """The job as the YAML that `azure.ai.ml.load_job` reads back."""
    buffer = io.StringIO()
    job.dump(buffer)
    return buffer.getvalue()


def ml_client(stack: StackOutputs) -> Any:
    """An `MLClient` for the stack's workspace, signed in with `DefaultAzureCredential`."""
    from azure.ai.ml import MLClient
    from azure.identity import DefaultAzureCredential

    return MLClient(
        DefaultAzureCredential(),
        subscription_id=stack.subscription_id,
        resource_group_name=stack.resource_group_name,
        workspace_name=stack.workspace_name,
    )


@contextmanager
def _signed_in(stack: StackOutputs) -> Iterator[None]:
    """Turn a missing sign-in or an unreachable Azure endpoint into one line and exit 4."""
    # CredentialUnavailableError subclasses ClientAuthenticationError:
    # https://learn.microsoft.com/python/api/azure-identity/azure.identity.credentialunavailableerror
    from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

    # DefaultAzureCredential logs every credential it tried at WARNING; the error says it once.
    logging.getLogger("azure.identity").setLevel(logging.ERROR)
    try:
        yield
    except ClientAuthenticationError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ServiceUnreachableError(
            f"not signed in to Azure for workspace {stack.workspace_name} (subscription "
            f"{stack.subscription_id}): run `az login`, or set a managed identity or service "
            f"principal for DefaultAzureCredential; {type(error).__name__}: {first[:200]}"
        ) from None
    except ServiceRequestError as error:
        raise ServiceUnreachableError(
            f"cannot reach Azure for workspace {stack.workspace_name}: {error}"
        ) from None


def ensure_environment(client: Any, env: Any) -> None:
    """Register the environment unless this exact content is already registered."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        client.environments.get(env.name, version=env.version)
        log.info("environment %s:%s already registered; reusing its image", env.name, env.version)
    except ResourceNotFoundError:
        log.info("registering environment %s:%s", env.name, env.version)
        client.environments.create_or_update(env)


def announce_sizing(stack: StackOutputs, settings: JobSettings) -> JobSizing:
    """Size the job and say on stderr what was chosen and why."""
    sizing = job_sizing(stack, settings)
    print(f"# sizing: {sizing.explanation}", file=sys.stderr, flush=True)
    return sizing


def submit(
    stack: StackOutputs,
    settings: JobSettings,
    options: AnalysisOptions,
    *,
    wait: bool = False,
) -> str:
    """Register the environment if needed, submit the job, print its studio URL; with `wait`,
    stream its logs and raise `JobFailedError` unless it completes. Returns the job name."""
    job = build_job(stack, settings, options, announce_sizing(stack, settings))
    with _signed_in(stack):
        client = ml_client(stack)
        ensure_environment(client, build_environment(settings))
        created = client.jobs.create_or_update(job)
        print(f"submitted {created.name}: {created.studio_url}", flush=True)
        if wait:
            client.jobs.stream(created.name)
            status = client.jobs.get(created.name).status
    if wait:
        if status != "Completed":
            raise JobFailedError(f"job {created.name} ended {status}: {created.studio_url}")
        print(f"job {created.name} completed; report at {job.outputs['report'].path}")
    return str(created.name)


def print_dry_run(stack: StackOutputs, settings: JobSettings, options: AnalysisOptions) -> None:
    """Print the job YAML on stdout; the sizing and the environment it would register on
    stderr."""
    job = build_job(stack, settings, options, announce_sizing(stack, settings))
    env = build_environment(settings)
    sys.stdout.write(job_yaml(job))
    print(
        f"# environment azureml:{env.name}:{env.version} = {env.image} + "
        f"{environment.CONDA_FILE.name} (registered on first submit, then reused)",
        file=sys.stderr,
    )
