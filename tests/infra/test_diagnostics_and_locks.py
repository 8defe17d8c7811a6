"""Diagnostic settings and management locks, as Azure receives them (mocks)."""

from __future__ import annotations

import pytest

from infra.data_lake import TARGET as DATA_LAKE
from infra.diagnostics import (
    ALL_LOGS,
    ALL_METRICS,
    STORAGE_TRANSACTION_METRICS,
    Diagnostics,
    DiagnosticTarget,
)
from infra.locks import Locks
from tests.component_mocks import by_type, run_components

LOG_ANALYTICS_ID = "/subscriptions/sub/resourceGroups/rg/providers/x/workspaces/log"


def test_every_target_sends_all_logs_and_its_metrics_to_log_analytics():
    def declare() -> None:
        Diagnostics(
            "diagnostics",
            targets=(
                DiagnosticTarget("workspace", "/id/workspace"),
                DiagnosticTarget(
                    "data-lake",
                    DATA_LAKE.diagnostics_scope("/id/lake"),
                    metric_categories=(STORAGE_TRANSACTION_METRICS,),
                ),
            ),
            log_analytics_workspace_id=LOG_ANALYTICS_ID,
        )

    settings = by_type(run_components(declare), "azure-native:monitor:DiagnosticSetting")
    by_uri = {s.inputs["resourceUri"]: s.inputs for s in settings}
    assert set(by_uri) == {"/id/workspace", "/id/lake/blobServices/default"}
    for inputs in by_uri.values():
        assert inputs["workspaceId"] == LOG_ANALYTICS_ID
        assert inputs["logs"] == [{"categoryGroup": ALL_LOGS, "enabled": True}]
    assert by_uri["/id/workspace"]["metrics"] == [{"category": ALL_METRICS, "enabled": True}]
    assert by_uri["/id/lake/blobServices/default"]["metrics"] == [
        {"category": STORAGE_TRANSACTION_METRICS, "enabled": True}
    ]


def test_duplicate_diagnostic_keys_are_rejected():
    def declare() -> None:
        target = DiagnosticTarget("workspace", "/id/workspace")
        Diagnostics("d", targets=(target, target), log_analytics_workspace_id=LOG_ANALYTICS_ID)

    with pytest.raises(ValueError, match="unique"):
        run_components(declare)


def test_locks_are_can_not_delete_on_each_resource_and_never_on_the_group():
    def declare() -> None:
        Locks("locks", resources={"data-lake": "/id/lake", "key-vault": "/id/vault"})

    registrations = run_components(declare)
    assert (
        by_type(registrations, "azure-native:authorization:ManagementLockAtResourceGroupLevel")
        == []
    )
    locks = by_type(registrations, "azure-native:authorization:ManagementLockByScope")
    assert {lock.inputs["scope"] for lock in locks} == {"/id/lake", "/id/vault"}
    assert {lock.inputs["level"] for lock in locks} == {"CanNotDelete"}
