"""Azure name rules and the stable per-stack suffix."""

from __future__ import annotations

import re

import pytest

from infra.naming import (
    COMPUTE_NAME_PATTERN,
    NAME_RULES,
    ResourceNames,
    check_names,
    stack_suffix,
)


def test_suffix_is_stable_and_differs_between_stacks() -> None:
    a = stack_suffix("azureml-dask", "dev", "dev", "westeurope")
    assert a == stack_suffix("azureml-dask", "dev", "dev", "westeurope")
    assert a != stack_suffix("azureml-dask", "prod", "prod", "westeurope")
    assert a != stack_suffix("azureml-dask", "dev", "dev", "northeurope")
    assert re.fullmatch(r"[0-9a-f]{6}", a)


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("storage account", ["abc", "a" * 24, "st1dev"], ["ab", "a" * 25, "St1", "st-1"]),
        ("key vault", ["kv-a-b", "abc", "A" * 24], ["1kv", "kv--a", "kv-", "ab", "k" * 25]),
        ("container registry", ["cr123", "A" * 50], ["cr12", "cr-123", "a" * 51]),
        ("workspace", ["mlw", "mlw-a_b", "1" * 33], ["ml", "-mlw", "m" * 34, "ml w"]),
    ],
)
def test_name_rules(kind: str, good: list[str], bad: list[str]) -> None:
    rule = NAME_RULES[kind]
    for name in good:
        assert re.fullmatch(rule.pattern, name), name
    for name in bad:
        assert not re.fullmatch(rule.pattern, name), name


def test_compute_names() -> None:
    for name in ["cpu", "cpu-cluster-01", "a1"]:
        assert re.fullmatch(COMPUTE_NAME_PATTERN, name)
    for name in ["1cpu", "c", "a" * 17, "cpu_cluster"]:
        assert not re.fullmatch(COMPUTE_NAME_PATTERN, name)


def test_default_names_fit_their_rules() -> None:
    names = ResourceNames("amldask", "prod", "abc123")
    problems = check_names(
        {
            "a": ("storage account", names.storage_account),
            "b": ("storage account", names.data_lake),
            "c": ("key vault", names.key_vault),
            "d": ("container registry", names.container_registry),
            "e": ("workspace", names.workspace),
        },
        derived_from="x",
    )
    assert problems == []
    assert names.storage_account != names.data_lake


def test_broken_name_error_names_key_rule_and_remedy() -> None:
    [problem] = check_names(
        {"azureml-dask:keyVault.name": ("key vault", "kv-" + "x" * 30)},
        derived_from="azureml-dask:namePrefix",
    )
    assert "azureml-dask:keyVault.name" in problem
    assert "33 characters" in problem
    assert "3-24" in problem
    assert "shorten azureml-dask:namePrefix" in problem
