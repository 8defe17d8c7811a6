"""Catalog-backed settings: regions, VM sizes, config namespaces, the environment default."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from infra.settings import PROJECT, SettingsError, parse_settings
from infra.settings.read import all_config
from tests.infra.test_settings import parse, raw


def problems(stack: str = "dev", **settings: Any) -> str:
    with pytest.raises(SettingsError) as err:
        parse(stack, **settings)
    return str(err.value)


@pytest.mark.parametrize(("location", "hint"), [("westeuropa", "westeurope"), ("marsnorth", "")])
def test_unknown_regions_are_rejected_with_a_hint(location: str, hint: str) -> None:
    message = problems(location=location)
    assert f"{PROJECT}:location = {location!r}" in message
    assert "locationUnlisted" in message
    assert hint in message


def test_a_new_region_can_be_allowed() -> None:
    assert parse(location="marsnorth", locationUnlisted=True).location == "marsnorth"


def test_a_retired_vm_size_names_key_date_doc_and_replacements() -> None:
    message = problems(computeClusters=[{"name": "gpu", "vmSize": "Standard_NC6s_v3"}])
    assert f"{PROJECT}:computeClusters[0].vmSize = 'Standard_NC6s_v3'" in message
    assert "2025-09-30" in message
    assert "learn.microsoft.com" in message
    assert "Standard_NC24ads_A100_v4" in message


def test_a_retired_size_stays_rejected_even_when_unlisted_is_set() -> None:
    cluster = {"name": "gpu", "vmSize": "Standard_NC6s_v3", "vmSizeUnlisted": True}
    assert "retired" in problems(computeClusters=[cluster])


def test_an_unknown_vm_size_suggests_close_ones_and_the_override() -> None:
    message = problems(computeClusters=[{"name": "cpu", "vmSize": "Standard_D4s_v9"}])
    assert "computeClusters[0].vmSize = 'Standard_D4s_v9'" in message
    assert "Standard_D4s_v5" in message
    assert "vmSizeUnlisted" in message
    cluster = {"name": "cpu", "vmSize": "Standard_D4s_v9", "vmSizeUnlisted": True}
    assert parse(computeClusters=[cluster]).compute_clusters[0].vm is None


@pytest.mark.parametrize("key", ["azureml_dask:protect", "azureml-dsk:protect"])
def test_keys_of_unknown_namespaces_are_rejected(key: str) -> None:
    with pytest.raises(SettingsError) as err:
        parse_settings({**raw(), key: "true"}, "prod")
    assert f"{key}: unknown config namespace" in str(err.value)
    assert f"did you mean {PROJECT}:protect" in str(err.value)


def test_the_real_reader_sees_every_namespace_of_pulumi_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under the real CLI the language host passes config as the PULUMI_CONFIG variable."""
    monkeypatch.setitem(os.environ, "PULUMI_CONFIG", json.dumps({"azureml_dask:protect": "true"}))
    config, _ = all_config()
    assert config["azureml_dask:protect"] == "true"


def test_a_namespace_typo_fails_the_offline_run() -> None:
    from plan.offline import run_config

    with pytest.raises(SettingsError, match="azureml_dask:protect"):
        run_config("dev", {**raw(), "azureml_dask:protect": "true"})


def test_a_stack_name_that_cannot_be_the_environment_says_so() -> None:
    message = problems("stage-eu")
    assert f"{PROJECT}:environment is required" in message
    assert "defaults to the stack name" in message
    assert "'stage-eu'" in message
    assert f"pulumi config set {PROJECT}:environment stageeu" in message


def test_the_agreed_new_settings_have_defaults() -> None:
    s = parse()
    assert s.virtual_network.restrict_outbound_internet is False
    assert s.groups.data_scientists_data_lake_role == "Storage Blob Data Reader"
    g = parse(groups={"dataScientistsDataLakeRole": "Storage Blob Data Contributor"}).groups
    assert g.data_scientists_data_lake_role == "Storage Blob Data Contributor"
    assert "Storage Blob Data Reader" in problems(groups={"dataScientistsDataLakeRole": "Owner"})
