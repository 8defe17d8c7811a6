"""What every component needs to place a resource: resource group, location, tags, protect."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class Placement:
    """Where resources go and how they are labelled; passed to every component."""

    resource_group_name: pulumi.Input[str]
    location: str
    tags: Mapping[str, str]
    protect: bool

    def options(
        self, parent: pulumi.Resource, *, stateful: bool = False, **extra
    ) -> pulumi.ResourceOptions:
        """Child options: parented to the component; `protect` only on stateful resources."""
        return pulumi.ResourceOptions(parent=parent, protect=stateful and self.protect, **extra)
