"""The offline engine itself: determinism, isolation between runs, Azure-shaped values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from plan.offline import (
    CLIENT_CONFIG,
    StackFileError,
    load_stack_config,
    run_stack,
    stack_names,
)
from tests.conftest import _run

ARM_ID = re.compile(
    r"/subscriptions/[0-9a-f-]{36}/resourceGroups/[^/]+(/providers/[A-Za-z.]+/[A-Za-z]+/[^/]+(/[A-Za-z]+/[^/]+)*)?"
)


def test_every_stack_file_is_found() -> None:
    assert {"dev", "prod"} <= set(stack_names())


def test_runs_are_deterministic_and_isolated() -> None:
    # Another stack in between must not leak into the second run of dev.
    first = run_stack("dev")
    run_stack("prod")
    again = run_stack("dev")
    assert first.outputs == again.outputs
    assert {r.urn: r.inputs for r in first.resources} == {r.urn: r.inputs for r in again.resources}
    assert all(":dev::" in r.urn for r in again.resources)


def test_ids_look_like_arm_ids(stack: str) -> None:
    run = _run(stack)
    for r in run.resources:
        if r.custom and r.type.startswith("azure-native:"):
            assert ARM_ID.fullmatch(r.id), r.id
            assert CLIENT_CONFIG["subscriptionId"] in r.id


def test_client_config_is_mocked(stack: str) -> None:
    run = _run(stack)
    assert run.outputs["subscriptionId"] == CLIENT_CONFIG["subscriptionId"]
    assert run.outputs["tenantId"] == CLIENT_CONFIG["tenantId"]


def test_missing_stack_file_is_a_clear_error() -> None:
    with pytest.raises(StackFileError, match=r"no stack file Pulumi\.nope\.yaml.*dev"):
        load_stack_config("nope")


def test_secure_values_stay_secret(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.x.yaml").write_text(
        "config:\n  azureml-dask:location: westeurope\n"
        "  azureml-dask:servicePrincipalClientSecret:\n    secure: v1:abc\n"
        "  azureml-dask:tags:\n    owner: me\n"
    )
    config, secret_keys = load_stack_config("x", tmp_path)
    assert secret_keys == ["azureml-dask:servicePrincipalClientSecret"]
    assert config["azureml-dask:tags"] == '{"owner": "me"}'
    assert config["azureml-dask:location"] == "westeurope"


@pytest.mark.parametrize(
    ("text", "line", "key", "first"),
    [
        # Top level of `config`: the project's own key given twice.
        (
            "config:\n  azureml-dask:location: westeurope\n  azureml-dask:location: northeurope\n",
            3,
            "azureml-dask:location",
            2,
        ),
        # Nested: `skuName` twice inside the data lake's settings.
        (
            "config:\n  azureml-dask:location: westeurope\n  azureml-dask:dataLake:\n"
            "    skuName: Standard_LRS\n    filesystems: [fs1]\n    skuName: Standard_GRS\n",
            6,
            "skuName",
            4,
        ),
    ],
)
def test_a_key_given_twice_is_an_error_naming_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, first: int
) -> None:
    (tmp_path / "Pulumi.x.yaml").write_text(text)
    with pytest.raises(StackFileError) as raised:
        load_stack_config("x", tmp_path)
    message = str(raised.value)
    assert message.startswith(f"Pulumi.x.yaml line {line}: duplicate key '{key}'")
    assert f"first given on line {first}" in message


def test_merge_keys_may_repeat(tmp_path: Path) -> None:
    # `<<:` is YAML's merge syntax, not a key of the stack's settings.
    (tmp_path / "Pulumi.x.yaml").write_text(
        "base: &base\n  owner: me\nextra: &extra\n  costCenter: c\n"
        "config:\n  azureml-dask:tags:\n    <<: *base\n    <<: *extra\n"
    )
    config, _ = load_stack_config("x", tmp_path)
    assert config["azureml-dask:tags"] == '{"owner": "me", "costCenter": "c"}'


def test_a_stack_file_that_is_not_a_mapping_is_named(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.x.yaml").write_text("- config\n")
    with pytest.raises(StackFileError, match=r"Pulumi\.x\.yaml: a stack file is a mapping"):
        load_stack_config("x", tmp_path)
