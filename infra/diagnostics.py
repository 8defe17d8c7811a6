"""Diagnostic settings: resource logs and platform metrics into the Log Analytics workspace.

What each resource offers (Azure Monitor's supported categories):

| resource                         | logs (category group) | metrics (category) |
|----------------------------------|-----------------------|--------------------|
| Azure ML workspace               | allLogs               | AllMetrics         |
| key vault                        | allLogs               | AllMetrics         |
| container registry               | allLogs               | AllMetrics         |
| data lake, blob service          | allLogs               | Transaction        |

A storage account's own scope has metrics only; its read/write/delete logs come from the
blob service (`<account id>/blobServices/default`), whose metric category is `Transaction`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import monitor

ALL_LOGS = "allLogs"
ALL_METRICS = "AllMetrics"
STORAGE_TRANSACTION_METRICS = "Transaction"
SETTING_NAME = "to-log-analytics"


@dataclass(frozen=True)
class DiagnosticTarget:
    """A resource whose logs and metrics go to Log Analytics."""

    key: str  # e.g. "workspace": used in the logical name
    resource_uri: pulumi.Input[str]
    metric_categories: tuple[str, ...] = (ALL_METRICS,)
    log_category_groups: tuple[str, ...] = (ALL_LOGS,)


class Diagnostics(pulumi.ComponentResource):
    """One diagnostic setting per target, all sending to one Log Analytics workspace."""

    settings: dict[str, monitor.DiagnosticSetting]

    def __init__(
        self,
        name: str,
        *,
        targets: Sequence[DiagnosticTarget],
        log_analytics_workspace_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("azureml-dask:diagnostics:Diagnostics", name, None, opts)
        keys = [t.key for t in targets]
        if len(set(keys)) != len(keys):
            raise ValueError(f"diagnostic target keys must be unique, got {keys}")
        self.settings = {
            t.key: monitor.DiagnosticSetting(
                f"diagnostics-{t.key}",
                name=SETTING_NAME,
                resource_uri=t.resource_uri,
                workspace_id=log_analytics_workspace_id,
                logs=[
                    monitor.DiagnosticsLogSettingsArgs(category_group=group, enabled=True)
                    for group in t.log_category_groups
                ],
                metrics=[
                    monitor.DiagnosticsMetricSettingsArgs(category=category, enabled=True)
                    for category in t.metric_categories
                ],
                opts=pulumi.ResourceOptions(parent=self),
            )
            for t in targets
        }
        self.register_outputs({"diagnosticSettingIds": [s.id for s in self.settings.values()]})
