"""What kind of stack is being checked: production or not, private networking or not.

The pack learns this from outside the stack's configuration, so a change to a stack file
cannot relax the rules for its own stack:

* the stack name, read from every resource's URN (`urn:pulumi:<stack>::...`): `prod`,
  `production` and names starting `prod-` / `production-` are production;
* Pulumi stack tags (`pulumi stack tag set production true`, or the CLI's `pulumi:tags`
  config), which can only add strictness: `production=true` marks any stack production,
  `privateNetworking=true` requires private endpoints.

Production stacks always require private networking. Any stack that disables public network
access on a resource has said that resource is private, and then needs its endpoints too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PRODUCTION_STACK_PATTERN = re.compile(r"prod(uction)?([-_.].*)?")
PRODUCTION_TAG = "production"
PRIVATE_NETWORKING_TAG = "privateNetworking"


def stack_name(urn: str) -> str:
    """The stack a resource belongs to, from its URN (`urn:pulumi:<stack>::<project>::...`)."""
    prefix = "urn:pulumi:"
    if not urn.startswith(prefix) or "::" not in urn:
        return ""
    return urn[len(prefix) :].split("::", 1)[0]


def _tag_is_true(stack_tags: Mapping[str, str], tag: str) -> bool:
    return str(stack_tags.get(tag, "")).strip().lower() == "true"


def is_production(urn: str, stack_tags: Mapping[str, str]) -> bool:
    """Whether the stack holding `urn` is production (by name, or by its stack tag)."""
    by_name = PRODUCTION_STACK_PATTERN.fullmatch(stack_name(urn).lower()) is not None
    return by_name or _tag_is_true(stack_tags, PRODUCTION_TAG)


def requires_private_networking(urn: str, stack_tags: Mapping[str, str]) -> bool:
    """Whether every private-link resource of the stack must be reachable only privately."""
    return is_production(urn, stack_tags) or _tag_is_true(stack_tags, PRIVATE_NETWORKING_TAG)
