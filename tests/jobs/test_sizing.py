"""Job sizing from the cluster's VM facts (outputs contract "2"), and its errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from azure.ai.ml import load_job

from jobs.cli import main
from jobs.errors import InvalidInputError
from jobs.sizing import GIB, ClusterFacts, size_job
from tests.jobs.conftest import STACK_OUTPUTS

D4S_V5 = ClusterFacts("cpu-cluster", "Standard_D4s_v5", max_nodes=4, vcpus=4, memory_gib=16)


def sized(cluster: ClusterFacts | None = D4S_V5, **flags: Any) -> Any:
    values: dict[str, Any] = {
        "instance_count": None,
        "processes_per_instance": None,
        "threads_per_worker": 1,
        "memory_limit": None,
        "source": "outputs.json",
    }
    return size_job(cluster, **(values | flags))


def test_defaults_give_one_worker_per_vcpu_and_an_even_share_of_memory() -> None:
    sizing = sized()
    assert (sizing.instance_count, sizing.processes_per_instance) == (2, 4)
    assert sizing.workers == 6
    # 16 GiB less the 2 GiB headroom, over 4 processes: no node is over-committed.
    assert int(sizing.memory_limit) == int(3.5 * GIB)
    assert int(sizing.memory_limit) * sizing.processes_per_instance < 16 * GIB
    assert "Standard_D4s_v5" in sizing.explanation and "3.5 GiB" in sizing.explanation


def test_threads_per_worker_lower_the_process_count() -> None:
    sizing = sized(threads_per_worker=2)
    assert sizing.processes_per_instance == 2
    assert int(sizing.memory_limit) == int(7 * GIB)


def test_headroom_is_a_tenth_on_big_nodes() -> None:
    big = ClusterFacts("large", "Standard_E64s_v5", max_nodes=2, vcpus=64, memory_gib=512)
    sizing = sized(big, instance_count=1)
    assert int(sizing.memory_limit) == int(512 * 0.9 / 64 * GIB)


def test_one_small_node_still_starts_the_three_dask_mpi_roles() -> None:
    tiny = ClusterFacts("tiny", "Standard_D2s_v5", max_nodes=1, vcpus=2, memory_gib=8)
    sizing = sized(tiny)
    assert (sizing.instance_count, sizing.processes_per_instance) == (1, 3)


def test_more_processes_than_vcpus_are_allowed_but_said() -> None:
    sizing = sized(processes_per_instance=8)
    assert "CPU over-committed" in sizing.explanation
    assert int(sizing.memory_limit) == int(14 / 8 * GIB)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"instance_count": 5}, "--instance-count 5 exceeds maxNodes 4 of compute cluster"),
        ({"threads_per_worker": 8}, "--threads-per-worker 8 exceeds the 4 vCPUs of"),
        ({"memory_limit": "8GiB"}, "--memory-limit 8GiB x 4 processes per node exceeds"),
        ({"instance_count": 1, "processes_per_instance": 2}, "dask-mpi needs at least 3 processes"),
    ],
)  # fmt: skip
def test_sizes_the_cluster_cannot_hold_are_refused(flags: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(")):
        sized(**flags)


def test_without_vm_facts_every_sizing_flag_is_required() -> None:
    with pytest.raises(InvalidInputError) as error:
        sized(None, instance_count=2)
    text = str(error.value)
    assert "predates outputs contract version 2" in text
    assert "--processes-per-instance, --memory-limit" in text and "--instance-count," not in text
    given = sized(None, instance_count=2, processes_per_instance=4, memory_limit="3GiB")
    assert (given.instance_count, given.processes_per_instance, given.memory_limit) == (
        2,
        4,
        "3GiB",
    )


def test_an_unlisted_vm_size_is_named() -> None:
    unlisted = ClusterFacts("new", "Standard_X9_v9", max_nodes=3, vcpus=0, memory_gib=0)
    with pytest.raises(InvalidInputError, match="VM size Standard_X9_v9 of compute cluster 'new'"):
        sized(unlisted)
    with pytest.raises(InvalidInputError, match="exceeds maxNodes 3 of compute cluster 'new'"):
        sized(unlisted, instance_count=4, processes_per_instance=4, memory_limit="2GiB")


def _dry_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: Path, *flags: str
) -> tuple[int, Any, str]:
    code = main(["submit", "--outputs", str(outputs), "--input", "nyctlc", "--dry-run", *flags])
    captured = capsys.readouterr()
    if code != 0:
        return code, None, captured.err
    (tmp_path / "job.yaml").write_text(captured.out)
    return code, load_job(tmp_path / "job.yaml"), captured.err


def test_submit_sizes_the_job_from_the_outputs_and_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, job, err = _dry_run(capsys, tmp_path, STACK_OUTPUTS, "--compute", "cpu-cluster-large")
    assert code == 0, err
    assert job.resources.instance_count == 2
    assert job.distribution.process_count_per_instance == 16
    limit = int((64 - 6.4) / 16 * GIB)
    assert f"--memory-limit {limit}" in job.command
    assert "# sizing: compute cluster 'cpu-cluster-large' (Standard_D16s_v5: 16 vCPUs" in err


def test_submit_on_version_1_outputs_names_the_flags(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    raw = json.loads(STACK_OUTPUTS.read_text())
    raw["outputsContractVersion"] = "1"
    for key in [k for k in raw if k.startswith("computeCluster") and k != "computeClusterNames"]:
        if key != "computeClusterIdentityClientId":
            del raw[key]
    old = tmp_path / "v1.json"
    old.write_text(json.dumps(raw))
    code, _, err = _dry_run(capsys, tmp_path, old)
    assert code == 3
    assert "pass --instance-count, --processes-per-instance, --memory-limit" in err
    code, job, err = _dry_run(
        capsys, tmp_path, old,
        "--instance-count", "2", "--processes-per-instance", "4", "--memory-limit", "3GiB",
    )  # fmt: skip
    assert code == 0, err
    assert "--memory-limit 3GiB" in job.command


def test_submit_refuses_more_nodes_than_the_cluster_has(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _dry_run(capsys, tmp_path, STACK_OUTPUTS, "--instance-count", "9")
    assert code == 3
    assert "--instance-count 9 exceeds maxNodes 4 of compute cluster 'cpu-cluster'" in err
