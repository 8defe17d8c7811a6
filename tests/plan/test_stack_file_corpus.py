"""The stack-file half of the bad-input corpus (#13): the dev stack file with one mistake
a person makes when editing it, planned with `python -m plan` as a reviewer would.

Every case asserts status 3, that the message names the key (or the file and line), that
no traceback is printed and that the plan wrote nothing and changed nothing: the folder
holding the stack file is fingerprinted before and after. The jobs half is in
`tests/jobs/test_bad_input_corpus.py`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from plan.cli import main
from plan.exit_codes import ExitCode
from plan.offline import REPO_ROOT
from tests.jobs.test_bad_input_corpus import fingerprint

DEV = (REPO_ROOT / "Pulumi.dev.yaml").read_bytes()


def _replace(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def edit(content: bytes) -> bytes:
        assert old in content, f"the dev stack file no longer holds {old!r}"
        return content.replace(old, new, 1)

    return edit


def _append(line: bytes) -> Callable[[bytes], bytes]:
    return lambda content: content.rstrip(b"\n") + b"\n" + line + b"\n"


# (case, how the dev stack file is edited, the stack's name, fragments the error must hold)
CASES: list[tuple[str, Callable[[bytes], bytes], str, list[str]]] = [
    (
        "namespace-with-an-underscore",
        _append(b"  azureml_dask:protect: true"),
        "dev",
        ["azureml_dask:protect: unknown config namespace", "did you mean azureml-dask:protect"],
    ),
    (
        "namespace-misspelt",
        _append(b"  azureml-dsk:protect: true"),
        "dev",
        ["azureml-dsk:protect: unknown config namespace"],
    ),
    (
        "provider-namespace-the-program-does-not-use",
        _append(b"  azure:location: westeurope"),
        "dev",
        ["azure:location: unknown config namespace 'azure'"],
    ),
    (
        "setting-misspelt",
        _append(b"  azureml-dask:protcet: true"),
        "dev",
        ["azureml-dask:protcet is not a known setting", "protect"],
    ),
    (
        "nested-setting-misspelt",
        _replace(b"    skuName: Standard_LRS", b"    skuName: Standard_LRS\n    skuNmae: x"),
        "dev",
        ["azureml-dask:dataLake.skuNmae is not a known setting", "skuName"],
    ),
    (
        "key-given-twice",
        _replace(
            b"    skuName: Standard_LRS", b"    skuName: Standard_LRS\n    skuName: Standard_GRS"
        ),
        "dev",
        ["Pulumi.dev.yaml line", "duplicate key 'skuName'"],
    ),
    (
        "tab-indentation",
        _replace(b"  azureml-dask:location", b"\tazureml-dask:location"),
        "dev",
        ["Pulumi.dev.yaml is not valid YAML", "'\\t'"],
    ),
    (
        "latin-1-bytes",
        _replace(b"owner: data-platform", b"owner: donn\xe9es"),
        "dev",
        ["Pulumi.dev.yaml line", "byte 0xe9 is not UTF-8"],
    ),
    (
        "region-misspelt",
        _replace(b"location: westeurope", b"location: westeuropa"),
        "dev",
        ["azureml-dask:location = 'westeuropa'", "westeurope", "locationUnlisted"],
    ),
    (
        "vm-size-that-does-not-exist",
        _replace(b"vmSize: Standard_D4s_v5", b"vmSize: Standard_D4s_v9"),
        "dev",
        ["computeClusters[0].vmSize = 'Standard_D4s_v9'", "vmSizeUnlisted"],
    ),
    (
        "cidr-prefix-too-long",
        _replace(b"- 10.40.0.0/16", b"- 10.40.0.0/33"),
        "dev",
        ["virtualNetwork.addressPrefixes[0] = '10.40.0.0/33'", "IPv4 CIDR"],
    ),
    (
        "negative-node-count",
        _replace(b"maxNodes: 4", b"maxNodes: -1"),
        "dev",
        ["computeClusters[0].maxNodes = -1", "from 1 to 100"],
    ),
    (
        "config-as-a-list",
        lambda content: b"config:\n  - azureml-dask:location\n",
        "dev",
        ["Pulumi.dev.yaml: `config` must be a mapping"],
    ),
    (
        "stack-name-that-cannot-be-the-environment",
        lambda content: content,
        "stage-eu",
        ["azureml-dask:environment is required", "'stage-eu'"],
    ),
]


@pytest.mark.parametrize(
    ("edit", "stack", "fragments"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_stack_file_mistake_is_named_and_changes_nothing(
    edit: Callable[[bytes], bytes],
    stack: str,
    fragments: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(REPO_ROOT / "__main__.py", root / "__main__.py")
    (root / f"Pulumi.{stack}.yaml").write_bytes(edit(DEV))
    before = fingerprint(root)
    code = main(["--stack", stack], root=root)
    out, err = capsys.readouterr()
    assert (code, out) == (ExitCode.INVALID_INPUT, ""), err
    for fragment in fragments:
        assert fragment in err, err
    assert "Traceback" not in err
    assert fingerprint(root) == before
