"""Reading stack config: from the Pulumi runtime (`read_settings`) or a mapping (`parse_settings`).

Config values arrive as strings (objects, lists, numbers and booleans as JSON), under
namespaced keys. This module checks what pydantic cannot see from one section: the
namespaces of all keys, and the client secret's handling (a Pulumi secret, never plain).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi
from pydantic import ValidationError

from infra.settings.errors import SettingsError, problems_of
from infra.settings.fields import PROJECT
from infra.settings.models import Settings

SECRET_NAME = "servicePrincipalClientSecret"
# Namespaces a stack file may use: ours, the providers the program uses, and Pulumi's own.
# https://www.pulumi.com/docs/iac/concepts/config/#configuration-keys
KNOWN_NAMESPACES = (PROJECT, "azure-native", "azuread", "pulumi")


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _namespace_problems(keys: Sequence[str]) -> list[str]:
    """Issue #13 item 11: `azureml_dask:protect` must not be ignored, prod would run unprotected."""
    problems = []
    for key in sorted(keys):
        namespace, _, name = key.partition(":")
        if namespace in KNOWN_NAMESPACES:
            continue
        close = difflib.get_close_matches(namespace, KNOWN_NAMESPACES, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}:{name}?" if close else ""
        problems.append(
            f"{key}: unknown config namespace {namespace!r} (known: "
            f"{', '.join(KNOWN_NAMESPACES)}){hint}"
        )
    return problems


def _secret_problems(values: Mapping[str, Any], secret_set: bool, secret_plain: bool) -> list[str]:
    key = f"{PROJECT}:{SECRET_NAME}"
    principal = values.get("servicePrincipal")
    mode = principal.get("mode", "none") if isinstance(principal, dict) else "none"
    mode_key = f"{PROJECT}:servicePrincipal.mode"
    problems = []
    if secret_plain:
        problems.append(
            f"{key} is stored in plain text: set it with `pulumi config set --secret {key} <value>`"
        )
    if mode == "existing" and not secret_set:
        problems.append(
            f"{key} is required when {mode_key} is 'existing': set it with "
            f"`pulumi config set --secret {key} <value>`"
        )
    elif mode == "create" and secret_set:
        problems.append(
            f"{key} is set but {mode_key} is 'create': the stack makes the password itself; "
            "remove the key"
        )
    elif mode == "none" and secret_set:
        problems.append(f"{key} is set but no service principal is configured")
    return problems


def parse_settings(
    raw: Mapping[str, str],
    stack: str,
    *,
    secret_keys: Sequence[str] = (),
    secret_value: Callable[[str], pulumi.Output[str]] | None = None,
) -> Settings:
    """Validate raw stack config (`{"azureml-dask:<key>": "<string>"}`) into `Settings`.

    `raw` is the whole stack config (every namespace: unknown ones are rejected). Raises
    `SettingsError` listing every problem. `secret_value(key)` returns a config value as a
    Pulumi secret; it is only called for keys the user marked secret.
    """
    prefix = f"{PROJECT}:"
    problems = _namespace_problems(list(raw))
    values = {k[len(prefix) :]: _decode(v) for k, v in raw.items() if k.startswith(prefix)}
    secret_key = f"{prefix}{SECRET_NAME}"
    secret_raw = values.pop(SECRET_NAME, None)
    problems += _secret_problems(
        values, secret_raw is not None, secret_raw is not None and secret_key not in secret_keys
    )
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(values, context={"stack": stack})
    except ValidationError as exc:
        problems = problems_of(exc, Settings, stack) + problems
    if problems or settings is None:
        raise SettingsError(problems)
    if secret_raw is not None and settings.service_principal.mode == "existing":
        secret = (
            secret_value(secret_key)
            if secret_value is not None
            else pulumi.Output.secret(str(secret_raw))
        )
        principal = settings.service_principal.model_copy(update={"client_secret": secret})
        settings = settings.model_copy(update={"service_principal": principal})
    return settings.model_copy(update={"stack": stack})


def all_config() -> tuple[dict[str, str], list[str]]:
    """Every config key of the run, in every namespace, and the keys marked secret.

    The Python SDK keeps config in `pulumi.runtime.config`: `CONFIG` (set by
    `set_all_config`, as the offline engine and Automation API do) and the `PULUMI_CONFIG`
    environment variable (JSON, set by the language host under the real CLI); secret keys
    likewise in `is_config_secret` and `PULUMI_CONFIG_SECRET_KEYS`.
    """
    from pulumi.runtime import config as runtime_config

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    raw = {k: str(runtime_config.get_config(k)) for k in keys}
    secret = {k for k in raw if runtime_config.is_config_secret(k)}
    secret |= {k for k in runtime_config.get_config_secret_keys_env() if k in raw}
    return raw, sorted(secret)


def read_settings() -> Settings:
    """Read and validate this stack's settings from the Pulumi runtime's config, once."""
    raw, secret_keys = all_config()
    config = pulumi.Config(PROJECT)
    prefix = f"{PROJECT}:"
    return parse_settings(
        raw,
        pulumi.get_stack(),
        secret_keys=secret_keys,
        secret_value=lambda key: config.require_secret(key[len(prefix) :]),
    )
