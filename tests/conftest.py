"""Shared fixtures: every `Pulumi.<stack>.yaml` in the repository, run offline once each.

A new stack file is picked up automatically: the `stack` fixtures are parametrized over the
files found in the repository root.
"""

from __future__ import annotations

import functools

import pytest

from infra.settings import Settings, parse_settings
from plan.offline import StackRun, load_stack_config, run_stack, stack_names

STACKS = stack_names()


@functools.cache
def _run(stack: str) -> StackRun:
    return run_stack(stack)


@functools.cache
def _settings(stack: str) -> Settings:
    config, secret_keys = load_stack_config(stack)
    return parse_settings(config, stack, secret_keys=secret_keys)


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    """The name of each stack with a stack file."""
    return str(request.param)


@pytest.fixture
def stack_run(stack: str) -> StackRun:
    """The offline run of the real program for each stack (computed once per stack)."""
    return _run(stack)


@pytest.fixture
def stack_settings(stack: str) -> Settings:
    """The validated settings of each stack."""
    return _settings(stack)
