"""Azure resource name rules, in one place, and the stable per-stack name suffix.

Globally unique names (storage accounts, key vaults, registries) and names Azure keeps
reserved after a soft delete (key vaults, workspaces) carry a short suffix derived from the
project, stack, environment and location: the same on every run of a stack, different
between stacks. To re-create a stack while its old names are still soft-deleted, set
`azureml-dask:nameSuffix` to a new value.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class NameRule:
    """How Azure constrains one kind of name."""

    pattern: str
    description: str


# One table of the rules this stack needs; the patterns encode length and characters.
NAME_RULES: dict[str, NameRule] = {
    "storage account": NameRule(
        r"[a-z0-9]{3,24}", "3-24 lowercase letters and digits, globally unique"
    ),
    "key vault": NameRule(
        r"(?=.{3,24}$)[A-Za-z](?!.*--)[A-Za-z0-9-]*[A-Za-z0-9]",
        "3-24 letters, digits and single hyphens, starting with a letter and ending with a "
        "letter or digit, globally unique",
    ),
    "container registry": NameRule(
        r"[A-Za-z0-9]{5,50}", "5-50 letters and digits, globally unique"
    ),
    "workspace": NameRule(
        r"[A-Za-z0-9][A-Za-z0-9_-]{2,32}",
        "3-33 letters, digits, hyphens and underscores, starting with a letter or digit",
    ),
}

COMPUTE_NAME_PATTERN = r"[A-Za-z][A-Za-z0-9-]{1,15}"
"""Azure ML compute cluster names: 2-16 letters, digits and hyphens, starting with a letter."""

COMPUTE_INSTANCE_NAME_PATTERN = r"[A-Za-z][A-Za-z0-9-]{2,23}"
"""Azure ML compute instance names: 3-24 letters, digits and hyphens, starting with a letter."""


def stack_suffix(project: str, stack: str, environment: str, location: str) -> str:
    """A 6-character suffix, stable for a stack and different between stacks."""
    digest = hashlib.sha256(f"{project}/{stack}/{environment}/{location}".encode()).hexdigest()
    return digest[:6]


@dataclass(frozen=True)
class ResourceNames:
    """Default names for every resource of one stack (CAF abbreviations as prefixes)."""

    prefix: str
    environment: str
    suffix: str

    @property
    def base(self) -> str:
        return f"{self.prefix}-{self.environment}"

    @property
    def resource_group(self) -> str:
        return f"rg-{self.base}"

    @property
    def virtual_network(self) -> str:
        return f"vnet-{self.base}"

    @property
    def network_security_group(self) -> str:
        return f"nsg-{self.base}-compute"

    @property
    def nat_gateway(self) -> str:
        return f"ng-{self.base}"

    @property
    def public_ip_address(self) -> str:
        return f"pip-{self.base}-nat"

    @property
    def storage_account(self) -> str:
        return f"st{self.prefix}{self.environment}{self.suffix}"

    @property
    def data_lake(self) -> str:
        return f"dl{self.prefix}{self.environment}{self.suffix}"

    @property
    def key_vault(self) -> str:
        return f"kv-{self.base}-{self.suffix}"

    @property
    def container_registry(self) -> str:
        return f"cr{self.prefix}{self.environment}{self.suffix}"

    @property
    def log_analytics_workspace(self) -> str:
        return f"log-{self.base}"

    @property
    def application_insights(self) -> str:
        return f"appi-{self.base}"

    @property
    def workspace(self) -> str:
        return f"mlw-{self.base}-{self.suffix}"

    @property
    def action_group(self) -> str:
        return f"ag-{self.base}"

    @property
    def action_group_short_name(self) -> str:
        """At most 12 characters (Azure Monitor's limit; it prefixes SMS and emails)."""
        return f"aml-{self.environment}"[:12]

    @property
    def failed_jobs_alert(self) -> str:
        return f"alert-{self.base}-failed-jobs"

    @property
    def compute_identity(self) -> str:
        return f"id-{self.base}-compute"

    @property
    def encryption_identity(self) -> str:
        return f"id-{self.base}-encryption"


def check_names(names: Mapping[str, tuple[str, str]], *, derived_from: str) -> list[str]:
    """Check `{config key: (kind, name)}` against `NAME_RULES`; return the problems found.

    A name that was not configured was derived from the keys in `derived_from`, so the
    message points at both the explicit key and the keys to shorten.
    """
    problems: list[str] = []
    for key, (kind, name) in names.items():
        rule = NAME_RULES[kind]
        if not re.fullmatch(rule.pattern, name):
            problems.append(
                f"{key} = {name!r} ({len(name)} characters): a {kind} name must be "
                f"{rule.description}; set {key} explicitly or shorten {derived_from}"
            )
    return problems
