"""What the platform decides for each Azure resource it secures: one row per resource.

Each resource module (`workspace.py`, `key_vault.py`, `data_lake.py`, ...) declares its
row next to the resource itself; `platform.TARGETS` is the one table of them that drives
the private endpoints, diagnostic settings and locks.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.diagnostics import ALL_LOGS, ALL_METRICS


@dataclass(frozen=True)
class DiagnosticCategories:
    """What a resource sends to Log Analytics, and from which scope under it."""

    log_category_groups: tuple[str, ...] = (ALL_LOGS,)
    metric_categories: tuple[str, ...] = (ALL_METRICS,)
    sub_resource: str = ""  # e.g. "blobServices/default": where a storage account's logs are


@dataclass(frozen=True)
class Target:
    """A resource's private endpoint groups, diagnostic categories and lock, in Azure's words.

    `key` names the resource in logical names (`pep-<key>-<group>`, `diagnostics-<key>`,
    `lock-<key>`): changing it renames, hence replaces, those resources.
    """

    key: str
    private_endpoints: tuple[str, ...]  # private-link group ids, one endpoint each
    diagnostic_settings: DiagnosticCategories | None
    lock: bool  # a `CanNotDelete` lock when the stack is protected

    def diagnostics_scope(self, resource_id: pulumi.Input[str]) -> pulumi.Input[str]:
        """The resource URI the diagnostic setting attaches to."""
        sub = self.diagnostic_settings.sub_resource if self.diagnostic_settings else ""
        return pulumi.Output.concat(resource_id, "/", sub) if sub else resource_id
