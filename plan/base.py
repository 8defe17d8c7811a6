"""Where `--diff BASE` finds the plan to compare with: a plan file, or a git revision.

For a revision, that revision's tree is exported with `git archive` into a temporary
directory (the repository's work trees and its list of worktrees stay untouched), and the
revision's own plan tool (`python -m plan --json`, or `python -m infra.plan --json` at
revisions from before the tool moved out of `infra/`) runs there in a subprocess with this
repository's interpreter: Python caches imported modules, so two versions of the program
cannot share one process. When the revision's program is the working tree's (a change of
stack files only, the common pull request), its stack file is planned in this process
instead: same code, same plan, without a second interpreter. The directory is removed
afterwards, whatever happens.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plan.diff import PlanFormatError

PLAN_TOOLS = (("plan/__main__.py", "plan"), ("infra/plan.py", "infra.plan"))
"""Where a revision keeps its plan tool, newest layout first: (file, module to run). Both
take `--stack S --json FILE` and exit 0 once the file is written."""

PROGRAM = ("__main__.py", "Pulumi.yaml", "infra", "plan")
"""What decides a stack's plan besides its stack file: the program and the plan tool."""

PLAN_TIMEOUT_SECONDS = 900
"""Upper bound for planning one stack at a base revision (normally a few seconds)."""


class BaseError(ValueError):
    """A `--diff BASE` that cannot be turned into a plan."""


def empty_plan(stack: str) -> dict[str, Any]:
    """The plan of a stack that does not exist (yet): nothing declared, nothing exported."""
    return {"stack": stack, "resources": [], "outputs": {}, "secretOutputs": []}


def load_plan_file(path: Path) -> dict[str, Any]:
    """Read a plan written by `--json`; a clear error names the file when it is not one."""
    try:
        plan = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise BaseError(f"cannot read plan file {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise BaseError(f"plan file {path} is not JSON: {exc}") from exc
    if not isinstance(plan, dict):
        raise PlanFormatError(f"plan file {path}: a plan is a JSON object")
    return plan


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    except OSError as exc:  # no git, or no such directory
        raise BaseError(f"cannot run git in {root}: {exc}") from exc


def resolve_revision(root: Path, revision: str) -> str | None:
    """The commit a git revision names in the repository at `root`, or None."""
    if revision.startswith("-"):  # never let a revision be read as a git option
        return None
    found = _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    return found.stdout.decode().strip() if found.returncode == 0 else None


def _export_tree(root: Path, commit: str, target: Path) -> None:
    archive = _git(root, "archive", "--format=tar", commit)
    if archive.returncode != 0:
        raise BaseError(f"git archive {commit} failed: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter=_inside_tree)


def _inside_tree(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
    """Tar's `data` filter, skipping what it refuses (e.g. a committed link out of the
    tree) instead of failing: the program and stack files never need such members."""
    try:
        return tarfile.data_filter(member, path)
    except tarfile.FilterError:
        return None


def program_unchanged(root: Path, commit: str) -> bool:
    """Whether the working tree's program (`PROGRAM`, edits and new files included) is the
    one at `commit`."""
    changed = _git(root, "diff", "--quiet", commit, "--", *PROGRAM)
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "--", *PROGRAM)
    return changed.returncode == 0 and untracked.returncode == 0 and not untracked.stdout.strip()


def _plan_here(root: Path, tree: Path, stack: str) -> dict[str, Any]:
    """The plan of `tree`'s stack file by this process's (identical) program, as the
    revision's own tool would have written it to JSON."""
    from plan.offline import load_stack_config, run_config
    from plan.stack_plan import build_plan

    config, secret_keys = load_stack_config(stack, tree)
    plan = build_plan(run_config(stack, config, secret_keys, root=root))
    loaded: dict[str, Any] = json.loads(json.dumps(plan, sort_keys=True))
    return loaded


def plan_at_revision(root: Path, revision: str, commit: str, stack: str) -> dict[str, Any]:
    """The plan of `stack` as the program at `commit` declares it.

    A revision without `Pulumi.<stack>.yaml` gives an empty plan (the stack is new); one
    without the offline plan tool, or whose plan fails, is an error naming the revision.
    """
    with tempfile.TemporaryDirectory(prefix="plan-base-") as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        _export_tree(root, commit, tree)
        if not (tree / f"Pulumi.{stack}.yaml").is_file():
            return empty_plan(stack)
        module = next((m for file, m in PLAN_TOOLS if (tree / file).is_file()), None)
        if module is None:
            raise BaseError(
                f"{revision} has Pulumi.{stack}.yaml but no plan tool (plan/ or infra/plan.py): "
                "its plan cannot be computed offline; compare with a plan file instead "
                "(--diff FILE)"
            )
        if program_unchanged(root, commit):
            try:
                return _plan_here(root, tree, stack)
            except (ValueError, OSError) as exc:  # bad settings or stack file at the base
                raise BaseError(f"the plan of {stack} at {revision} failed:\n{exc}") from exc
        out = Path(tmp) / "plan.json"
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(tree)}
        try:
            done = subprocess.run(
                [sys.executable, "-m", module, "--stack", stack, "--json", str(out)],
                cwd=tree,
                env=env,
                capture_output=True,
                text=True,
                timeout=PLAN_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BaseError(
                f"planning {stack} at {revision} took over {PLAN_TIMEOUT_SECONDS}s"
            ) from exc
        if done.returncode != 0 or not out.is_file():
            detail = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
            raise BaseError(f"the plan of {stack} at {revision} failed:\n{detail}")
        return load_plan_file(out)


@dataclass(frozen=True)
class Base:
    """What `--diff BASE` names: a plan file (already read) or a git commit."""

    label: str
    plan: dict[str, Any] | None = None
    revision: str | None = None
    commit: str | None = None


def find_base(root: Path, base: str, stack: str) -> Base:
    """Check `--diff BASE` before anything is planned: a plan file of `stack` if one exists
    at that path (read now), else a git revision of the repository at `root`."""
    path = Path(base)
    if path.is_file():
        plan = load_plan_file(path)
        if plan.get("stack") != stack:
            raise PlanFormatError(
                f"--diff {base}: that is the plan of stack {plan.get('stack')!r}, not "
                f"{stack!r}; to see how two stacks differ use --compare"
            )
        return Base(label=str(base), plan=plan)
    commit = resolve_revision(root, base)
    if commit is None:
        raise BaseError(
            f"--diff {base!r} is neither a plan file (written by --json) nor a git revision "
            f"of {root}"
        )
    return Base(label=f"{base} ({commit[:12]})", revision=base, commit=commit)


def load_base(root: Path, base: Base, stack: str) -> dict[str, Any]:
    """The base plan of `stack`: the plan file's, or the one planned at the commit."""
    if base.plan is not None:
        return base.plan
    assert base.revision is not None and base.commit is not None
    return plan_at_revision(root, base.revision, base.commit, stack)
