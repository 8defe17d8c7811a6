"""The job's Azure ML environment: an OpenMPI base image plus the project's locked packages.

`environment.conda.yaml` beside this file is generated from `uv.lock` (`uv export`, minus the
packages only the submitting side needs) so the cluster runs exactly the versions tested
here; a test fails when it drifts from the lock. Regenerate it with
`uv run --frozen python -m jobs.environment --write`.

The environment's version is derived from its content (base image + conda file), so every
submit of unchanged content reuses the registered environment and its built image.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

BASE_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"
ENVIRONMENT_NAME = "azureml-dask-job"
CONDA_FILE = Path(__file__).with_name("environment.conda.yaml")
REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
PYTHON_VERSION = (
    (REPOSITORY_ROOT / ".python-version").read_text().strip()
    if (REPOSITORY_ROOT / ".python-version").exists()
    else "3.11"
)
# Needed to build infrastructure or to submit, never on the cluster.
SUBMIT_SIDE_PACKAGES = (
    "pulumi",
    "pulumi-azure-native",
    "pulumi-azuread",
    "pulumi-policy",
    "azure-ai-ml",
)


def export_requirements() -> str:
    """The job's runtime requirements, exported from `uv.lock` by `uv export`."""
    uv = shutil.which("uv")
    if uv is None:
        raise RuntimeError("uv is not on PATH; install it with scripts/bootstrap")
    command = [
        uv,
        "export",
        "--frozen",
        "--no-dev",
        "--no-hashes",
        "--no-header",
        "--no-annotate",
        "--no-emit-project",
    ]
    for package in SUBMIT_SIDE_PACKAGES:
        command += ["--prune", package]
    result = subprocess.run(
        command, cwd=REPOSITORY_ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout


def render_conda_file(requirements: str) -> str:
    """A conda environment file: the project's Python, then the pinned pip packages."""
    lines = [
        "# Generated from uv.lock by `python -m jobs.environment --write`; do not edit.",
        "name: azureml-dask-job",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={PYTHON_VERSION}",
        "  - pip",
        "  - pip:",
    ]
    for requirement in requirements.splitlines():
        requirement = requirement.strip()
        if requirement and not requirement.startswith("#"):
            lines.append(f'      - "{requirement}"')
    return "\n".join(lines) + "\n"


def content_version(base_image: str, conda_text: str) -> str:
    """A version string that changes exactly when the image or the packages change."""
    digest = hashlib.sha256(f"{base_image}\n{conda_text}".encode()).hexdigest()
    return digest[:16]


def main(argv: list[str] | None = None) -> int:
    """Check (default) or rewrite the committed conda file against `uv.lock`."""
    parser = argparse.ArgumentParser(prog="python -m jobs.environment", description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite the conda file")
    args = parser.parse_args(argv)
    expected = render_conda_file(export_requirements())
    if args.write:
        CONDA_FILE.write_text(expected)
        print(f"wrote {CONDA_FILE}")
        return 0
    if not CONDA_FILE.exists() or CONDA_FILE.read_text() != expected:
        print(f"{CONDA_FILE} is out of date with uv.lock; run with --write", file=sys.stderr)
        return 1
    print(f"{CONDA_FILE} matches uv.lock")
    return 0


if __name__ == "__main__":
    sys.exit(main())
