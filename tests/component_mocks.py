"""Run a few components under the offline engine's mocks and return what they registered.

For unit tests of single components (private networking, diagnostics, locks) that take plain
values; whole stacks run through `plan.offline.run_stack` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plan.offline import ResourceRecord, run_program


def run_components(program: Callable[[], Any], stack: str = "test") -> list[ResourceRecord]:
    """Run `program` (which declares resources) offline; return every custom resource."""
    return [r for r in run_program(program, stack).resources if r.custom]


def by_type(registrations: list[ResourceRecord], type_: str) -> list[ResourceRecord]:
    """The registrations of one type token."""
    return [r for r in registrations if r.type == type_]
