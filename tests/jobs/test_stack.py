"""Reading the stack outputs contract."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from jobs.errors import InvalidInputError
from jobs.stack import read_outputs_file, read_stack
from tests.jobs.conftest import STACK_OUTPUTS


def outputs() -> dict:
    return json.loads(STACK_OUTPUTS.read_text())


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(data))
    return path


def test_example_outputs_parse_into_the_contract() -> None:
    stack = read_outputs_file(STACK_OUTPUTS)
    assert stack.workspace_name == "mlw-amldask-dev"
    assert stack.default_compute_cluster == "cpu-cluster"
    assert stack.default_datastore == "datalake_raw"
    # Identity-based datastores map to their filesystems; service-principal ones do not.
    assert stack.datastore_urls() == {
        "datalake_raw": "abfss://raw@dlamldaskdevx7k2.dfs.core.windows.net/",
        "datalake_curated": "abfss://curated@dlamldaskdevx7k2.dfs.core.windows.net/",
    }


def test_missing_outputs_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"outputs file '.*nope\.json' does not exist"):
        read_outputs_file(tmp_path / "nope.json")


def test_outputs_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text("workspaceName: mlw\n")
    with pytest.raises(InvalidInputError, match=r"outputs\.json' is not valid JSON"):
        read_outputs_file(path)


def test_outputs_file_that_is_not_an_object(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="expected a JSON object"):
        read_outputs_file(write(tmp_path, ["a"]))


@pytest.mark.parametrize(
    "key",
    ["outputsContractVersion", "workspaceName", "computeClusterNames", "dataLakeFilesystemUrls"],
)
def test_missing_key_is_named_with_the_file(tmp_path: Path, key: str) -> None:
    data = outputs()
    del data[key]
    path = write(tmp_path, data)
    with pytest.raises(InvalidInputError, match=f"{path}: stack output '{key}' is missing"):
        read_outputs_file(path)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("outputsContractVersion", "4", "reads contract versions 1, 2 and 3"),
        ("computeSubnetId", "", "must be a non-empty string"),  # contract "2" of the example
        ("computeSubnetId", 7, "must be a non-empty string"),
        ("subscriptionId", "", "must be a non-empty string"),
        ("computeClusterNames", "cpu-cluster", "must be a list of non-empty strings"),
        ("computeClusterNames", [], "must list at least one name"),
        ("dataLakeFilesystemUrls", ["abfss://raw@other.dfs.core.windows.net/"], "has 1 entries"),
        (
            "dataLakeFilesystemUrls",
            ["https://x/", "abfss://curated@dlamldaskdevx7k2.dfs.core.windows.net/"],
            "should be 'abfss://raw@dlamldaskdevx7k2.dfs.core.windows.net/'",
        ),
        ("datastoreNames", ["only_one"], "one identity-based datastore per filesystem"),
        ("workspaceId", "mlw-amldask-dev", "is not an Azure ML workspace resource id"),
        ("computeClusterVmSizes", ["Standard_D4s_v5"], "must be a list of 2 entries"),
        ("computeClusterMaxNodes", [4, 2.5], "must hold one whole number per cluster"),
        ("computeClusterVCpus", [4, True], "must hold one whole number per cluster"),
        ("computeClusterMemoryGiB", [16, -1], "must not hold negative numbers"),
        ("computeClusterMaxNodes", [4, 0], "must be 1 or more per cluster"),
    ],
)
def test_malformed_value_is_named(tmp_path: Path, key: str, value: object, problem: str) -> None:
    data = outputs()
    data[key] = value
    with pytest.raises(InvalidInputError, match=f"stack output '{key}'") as error:
        read_outputs_file(write(tmp_path, data))
    assert problem in str(error.value)


def test_version_2_cluster_facts_line_up_with_the_cluster_names() -> None:
    stack = read_outputs_file(STACK_OUTPUTS)
    large = stack.cluster_facts("cpu-cluster-large")
    assert large is not None
    assert (large.vm_size, large.max_nodes, large.vcpus, large.memory_gib) == (
        "Standard_D16s_v5",
        8,
        16,
        64.0,
    )


def test_version_1_outputs_have_no_cluster_facts(tmp_path: Path) -> None:
    data = outputs()
    data["outputsContractVersion"] = "1"
    del data["computeClusterVmSizes"]
    assert read_outputs_file(write(tmp_path, data)).cluster_facts("cpu-cluster") is None


def test_contract_3_reads_managed_network_compute_without_subnet(tmp_path: Path) -> None:
    # Version "3" adds workspaceIsolationMode; managed-network compute has no compute subnet.
    data = outputs() | {
        "outputsContractVersion": "3",
        "workspaceIsolationMode": "AllowOnlyApprovedOutbound",
        "computeSubnetId": "",
    }
    stack = read_outputs_file(write(tmp_path, data))
    assert stack.compute_subnet_id == ""
    assert stack.workspace_name == "mlw-amldask-dev"


def test_compute_cluster_absent_from_outputs() -> None:
    stack = read_outputs_file(STACK_OUTPUTS)
    with pytest.raises(
        InvalidInputError, match="'gpu-cluster' is not in computeClusterNames"
    ) as error:
        stack.compute_cluster("gpu-cluster")
    assert "cpu-cluster, cpu-cluster-large" in str(error.value)
    assert stack.compute_cluster("cpu-cluster-large") == "cpu-cluster-large"


def test_datastore_absent_from_outputs() -> None:
    with pytest.raises(InvalidInputError, match="'lake' is not in datastoreNames"):
        read_outputs_file(STACK_OUTPUTS).datastore("lake")


def test_stack_without_pulumi_cli_asks_for_an_outputs_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi here
    with pytest.raises(InvalidInputError, match=r"pulumi CLI is not on PATH.*--outputs FILE.json"):
        read_stack("dev", None)


def test_stack_is_read_through_the_pulumi_cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A stand-in CLI that records its arguments and prints the saved outputs.
    fake = tmp_path / "pulumi"
    fake.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/args\ncat {STACK_OUTPUTS}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    stack = read_stack("dev", None)
    assert stack.workspace_name == "mlw-amldask-dev"
    assert (tmp_path / "args").read_text().split() == [
        "stack",
        "output",
        "--json",
        "--stack",
        "dev",
    ]


def test_neither_stack_nor_outputs() -> None:
    with pytest.raises(InvalidInputError, match=r"pass --stack NAME .* or --outputs FILE.json"):
        read_stack(None, None)
