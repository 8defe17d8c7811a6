"""`python -m plan` with --json, --diff, --compare and --markdown, on the real program.

The git tests work on a throwaway repository holding a copy of this program, so they can
commit, edit and compare without touching the real one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from plan.cli import main
from plan.offline import REPO_ROOT, stack_names
from tests.conftest import _run, _settings

PROGRAM = ("__main__.py", "Pulumi.yaml", "infra", "plan")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str, root: Path = REPO_ROOT):
    code = main(list(argv), root=root)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with a committed copy of this program and its stack files."""
    root = tmp_path / "repo"
    root.mkdir()
    for name in [*PROGRAM, *(f"Pulumi.{s}.yaml" for s in stack_names())]:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / name)
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "base")
    return root


def _dev_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    target = tmp_path / "dev.json"
    assert run_cli(capsys, "--stack", "dev", "--json", str(target))[0] == 0
    plan: dict[str, Any] = json.loads(target.read_text())
    return plan


# --------------------------------------------------------------------------------------
# --json
# --------------------------------------------------------------------------------------


def test_json_is_byte_identical_for_the_same_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, third = (tmp_path / f"{n}.json" for n in ("a", "b", "c"))
    assert run_cli(capsys, "--stack", "prod", "--json", str(first)) == (0, "", "")
    assert run_cli(capsys, "--stack", "prod", "--json", str(second))[0] == 0
    # Another process (another hash seed, fresh imports) writes the same bytes.
    subprocess.run(
        [sys.executable, "-m", "plan", "--stack", "prod", "--json", str(third)],
        cwd=REPO_ROOT,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert first.read_bytes() == second.read_bytes() == third.read_bytes()
    plan = json.loads(first.read_text())
    assert plan["stack"] == "prod"
    assert any(r["name"] == "data-lake" for r in plan["resources"])


def test_json_to_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--stack", "dev", "--json", "-")
    assert code == 0
    assert json.loads(out)["stack"] == "dev"


# --------------------------------------------------------------------------------------
# --diff against a plan file
# --------------------------------------------------------------------------------------


def test_diff_with_the_same_plan_finds_no_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _dev_plan(tmp_path, capsys)
    code, out, _ = run_cli(capsys, "--stack", "dev", "--diff", str(tmp_path / "dev.json"))
    assert code == 0
    assert "no changes" in out


def test_diff_catches_a_changed_property(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _dev_plan(tmp_path, capsys)
    (lake,) = [r for r in base["resources"] if r["name"] == "data-lake"]
    current = lake["properties"]["sku"]["name"]
    lake["properties"]["sku"]["name"] = "Standard_RAGZRS"
    (tmp_path / "base.json").write_text(json.dumps(base))

    code, out, _ = run_cli(capsys, "--stack", "dev", "--diff", str(tmp_path / "base.json"))
    assert code == 6
    assert f'sku.name: "Standard_RAGZRS" -> "{current}"' in out
    assert "DESTRUCTIVE" not in out


def test_diff_flags_a_destructive_change_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _dev_plan(tmp_path, capsys)
    (lake,) = [r for r in base["resources"] if r["name"] == "data-lake"]
    lake["properties"]["isHnsEnabled"] = False
    (tmp_path / "base.json").write_text(json.dumps(base))

    code, out, _ = run_cli(capsys, "--stack", "dev", "--diff", str(tmp_path / "base.json"))
    assert code == 7
    assert out.splitlines()[2].startswith("!! DESTRUCTIVE")
    assert "isHnsEnabled: false -> true" in out

    code, markdown, _ = run_cli(
        capsys, "--stack", "dev", "--diff", str(tmp_path / "base.json"), "--markdown"
    )
    assert code == 7
    assert markdown.startswith("### Stack `dev`:")
    assert markdown.index("[!CAUTION]") < markdown.index("- **change** `data-lake`")


def test_no_secret_value_reaches_the_json_or_a_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = _run("dev").secret_values
    assert secrets  # dev creates a service principal password and stores it in the vault
    plan_text = json.dumps(_dev_plan(tmp_path, capsys))
    empty = tmp_path / "empty.json"
    empty.write_text('{"stack": "dev", "resources": [], "outputs": {}, "secretOutputs": []}')
    # Against an empty plan every property of every resource is listed.
    code, text, _ = run_cli(capsys, "--stack", "dev", "--diff", str(empty))
    assert code == 6
    code, markdown, _ = run_cli(capsys, "--stack", "dev", "--diff", str(empty), "--markdown")
    assert "[secret]" in text
    assert "[secret]" in markdown
    for secret in secrets:
        for rendered in (plan_text, text, markdown):
            assert secret not in rendered


# --------------------------------------------------------------------------------------
# --diff against a git revision
# --------------------------------------------------------------------------------------


def test_diff_against_a_git_revision(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack_file = repo / "Pulumi.dev.yaml"
    stack_file.write_text(
        stack_file.read_text() + "  azureml-dask:logAnalytics:\n    retentionInDays: 120\n"
    )

    code, out, err = run_cli(capsys, "--stack", "dev", "--diff", "HEAD", root=repo)
    assert (code, err) == (6, "")
    assert "HEAD (" in out.splitlines()[0]
    assert "retentionInDays: 30 -> 120" in out
    # The temporary checkout is gone, and the repository has no new worktree.
    worktrees = subprocess.run(
        ["git", "worktree", "list"], cwd=repo, capture_output=True, text=True, check=True
    )
    assert len(worktrees.stdout.splitlines()) == 1


def test_a_stack_new_since_the_revision_is_all_additions(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(repo / "Pulumi.dev.yaml", repo / "Pulumi.qa.yaml")
    code, out, _ = run_cli(capsys, "--stack", "qa", "--diff", "HEAD", root=repo)
    assert code == 6
    assert "0 to remove, 0 to change" in out.splitlines()[0]
    assert "+ data-lake (azure-native:storage:StorageAccount)" in out


def test_a_revision_whose_plan_fails_is_an_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "Pulumi.dev.yaml").write_text("config:\n  azureml-dask:lcation: westeurope\n")
    _git(repo, "commit", "-q", "-am", "typo")
    shutil.copy(REPO_ROOT / "Pulumi.dev.yaml", repo / "Pulumi.dev.yaml")

    code, out, err = run_cli(capsys, "--stack", "dev", "--diff", "HEAD", root=repo)
    assert (code, out) == (3, "")
    assert "the plan of dev at HEAD failed" in err
    assert "azureml-dask:lcation" in err  # the base's own settings error, passed on
    assert "Traceback" not in err


def test_a_revision_without_the_plan_tool_is_an_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _git(repo, "rm", "-q", "-r", "plan")
    _git(repo, "commit", "-q", "-m", "no plan tool")
    code, _, err = run_cli(capsys, "--stack", "dev", "--diff", "HEAD", root=repo)
    assert code == 3
    assert "HEAD has Pulumi.dev.yaml but no plan tool (plan/ or infra/plan.py)" in err


def _revision_with_the_plan_tool_in_infra() -> str:
    """The newest commit of this repository's history whose plan tool is `infra/plan.py`
    (before it moved to `plan/`): the parent of the move, or the last change before it."""
    newest = subprocess.run(
        ["git", "rev-list", "-1", "HEAD", "--", "infra/plan.py"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    assert newest, "this test needs the repository's git history (a clone, not an archive)"
    for commit in (newest, f"{newest}^"):
        has = [
            subprocess.run(
                ["git", "cat-file", "-e", f"{commit}:{path}"], cwd=REPO_ROOT, check=False
            ).returncode
            == 0
            for path in ("infra/plan.py", "plan/__main__.py", "Pulumi.dev.yaml")
        ]
        if has == [True, False, True]:
            return commit
    raise AssertionError(f"no commit with infra/plan.py near {newest}")


def test_diff_against_a_revision_from_before_the_plan_tool_moved(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A real commit of this repository, planned by its own `python -m infra.plan`.
    commit = _revision_with_the_plan_tool_in_infra()
    code, out, err = run_cli(capsys, "--stack", "dev", "--diff", commit)
    assert err == ""
    assert code in (0, 6, 7)
    full = subprocess.run(
        ["git", "rev-parse", commit], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert f"({full[:12]}) -> working tree" in out.splitlines()[0]
    # The base plan has the stack's resources: the data lake is matched, not all new.
    assert "+ data-lake (" not in out


# --------------------------------------------------------------------------------------
# --compare on the real stack files
# --------------------------------------------------------------------------------------


def test_compare_dev_and_prod_shows_what_differs(capsys: pytest.CaptureFixture[str]) -> None:
    dev, prod = _settings("dev"), _settings("prod")
    code, out, _ = run_cli(capsys, "--compare", "dev", "prod")
    assert code == 6
    assert out.startswith("Stacks dev vs prod:")
    assert "DESTRUCTIVE" not in out
    # Names differ by design and are listed once, side by side.
    assert f"data-lake: {dev.data_lake.name} | {prod.data_lake.name}" in out
    # What the stack files configure differently is there, values from each side.
    if dev.data_lake.sku_name != prod.data_lake.sku_name:
        assert f'sku.name: "{dev.data_lake.sku_name}" -> "{prod.data_lake.sku_name}"' in out
    for filesystem in set(prod.data_lake.filesystems) - set(dev.data_lake.filesystems):
        assert f"+ filesystem-{filesystem} (azure-native:storage:BlobContainer)" in out
    if dev.protect != prod.protect:
        assert f"protect (resource option): {json.dumps(dev.protect)} -> " in out

    code, markdown, _ = run_cli(capsys, "--compare", "dev", "prod", "--markdown")
    assert code == 6
    assert markdown.startswith("### Stacks `dev vs prod`:")
    assert f"| `{dev.data_lake.name}` | `{prod.data_lake.name}` |" in markdown


def test_a_stack_compared_with_itself_has_no_differences(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(capsys, "--compare", "prod", "prod")
    assert code == 0
    assert "no differences" in out


# --------------------------------------------------------------------------------------
# Errors: exit 3 (input) or 2 (usage), the message, no traceback, nothing written
# --------------------------------------------------------------------------------------


def _invalid_settings_root(tmp_path: Path) -> Path:
    shutil.copy(REPO_ROOT / "__main__.py", tmp_path / "__main__.py")
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  azureml-dask:location: westeurope\n  azureml-dask:protect: maybe\n"
        "  azureml-dask:tags:\n    owner: me\n    costCenter: c\n"
    )
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--stack", "nope"], "no stack file Pulumi.nope.yaml"),
        (["--compare", "dev", "nope"], "no stack file Pulumi.nope.yaml"),
        (["--stack", "dev", "--diff", "no-such-revision"], "neither a plan file"),
        (["--stack", "dev", "--diff=--output=x"], "neither a plan file"),
        (["--compare", "dev", "prod", "--json", "x.json"], "cannot go with --compare"),
    ],
)
def test_bad_input_exits_3_with_a_clear_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 3
    assert message in err
    assert out == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--diff", "HEAD", "--compare", "dev", "prod"], "not allowed with argument"),
        (["--stack"], "expected one argument"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_a_bad_command_line_exits_2_with_the_usage(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.startswith("usage: python -m plan")
    assert message in err
    assert out == ""


def test_help_exits_0_and_lists_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "--help")
    assert (code, err) == (0, "")
    assert out.startswith("usage: python -m plan")
    assert "6 changes, 7 destructive changes" in " ".join(out.split())


def test_invalid_settings_exit_3_with_the_settings_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _invalid_settings_root(tmp_path)
    code, out, err = run_cli(capsys, "--stack", "bad", "--json", str(root / "p.json"), root=root)
    assert (code, out) == (3, "")
    assert "Traceback" not in err
    assert "azureml-dask:protect" in err
    assert not (root / "p.json").exists()


def test_a_key_given_twice_in_the_stack_file_exits_3_naming_file_line_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(REPO_ROOT / "__main__.py", tmp_path / "__main__.py")
    # The dev stack file with a second `skuName` in its data lake settings.
    lines = (REPO_ROOT / "Pulumi.dev.yaml").read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip().startswith("skuName:"))
    lines.insert(first + 1, "    skuName: Standard_GRS")
    (tmp_path / "Pulumi.twice.yaml").write_text("\n".join(lines) + "\n")
    code, out, err = run_cli(capsys, "--stack", "twice", root=tmp_path)
    assert (code, out) == (3, "")
    assert err.startswith(
        f"error: Pulumi.twice.yaml line {first + 2}: duplicate key 'skuName' "
        f"(first given on line {first + 1})"
    )
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"stack": "dev"}', "not a plan (missing resources, outputs)"),
        ("[1, 2]", "a plan is a JSON object"),
    ],
)
def test_a_bad_plan_file_is_named(
    content: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "base.json"
    bad.write_text(content)
    code, out, err = run_cli(capsys, "--stack", "dev", "--diff", str(bad))
    assert (code, out) == (3, "")
    assert str(bad) in err
    assert message in err


def test_a_plan_file_of_another_stack_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _dev_plan(tmp_path, capsys)
    code, out, err = run_cli(capsys, "--stack", "prod", "--diff", str(tmp_path / "dev.json"))
    assert (code, out) == (3, "")
    assert "the plan of stack 'dev', not 'prod'" in err
    assert "--compare" in err


def test_json_into_a_missing_directory_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing" / "plan.json"
    code, _, err = run_cli(capsys, "--stack", "dev", "--json", str(target))
    assert code == 3
    assert f"directory {target.parent} does not exist" in err
    assert not target.parent.exists()


def test_json_onto_a_directory_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "--stack", "dev", "--json", str(tmp_path))
    assert code == 3
    assert "is a directory" in err
    assert list(tmp_path.iterdir()) == []


def test_errors_never_show_a_traceback_from_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "plan", "--stack", "dev", "--diff", "nothing-like-this"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 3
    assert done.stderr.startswith("error: --diff 'nothing-like-this' is neither")
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------------------
# scripts/plan-diff: every stack, as the pull-request workflow runs it
# --------------------------------------------------------------------------------------


@pytest.fixture
def script_repo(repo: Path) -> Path:
    """The throwaway repository, able to run scripts/plan-diff with this environment."""
    for name in ("scripts", "pyproject.toml", "uv.lock", ".python-version", ".gitignore"):
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name)
        else:
            shutil.copy(source, repo / name)
    (repo / ".venv").symlink_to(Path(sys.prefix))
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "scripts")
    return repo


def _plan_diff(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "scripts/plan-diff", *args], cwd=root, capture_output=True, text=True, check=False
    )


def test_plan_diff_reports_every_stack_and_fails_only_on_errors(script_repo: Path) -> None:
    root = script_repo
    stacks = stack_names()
    assert {"dev", "prod"} <= set(stacks)
    (root / "Pulumi.dev.yaml").write_text(
        (root / "Pulumi.dev.yaml").read_text()
        + "  azureml-dask:logAnalytics:\n    retentionInDays: 120\n"
    )
    _git(root, "rm", "-q", "Pulumi.prod.yaml")
    (root / "Pulumi.broken.yaml").write_text("config:\n  azureml-dask:lcation: westeurope\n")

    done = _plan_diff(root, "HEAD")
    markdown = done.stdout
    assert done.returncode == 3  # the broken stack's settings; changes alone would exit 0
    assert markdown.startswith(
        "<!-- offline-plan-diff -->\n## Offline plan: this branch against `HEAD`"
    )
    assert "| `dev` | changes |" in markdown
    assert "| `broken` | **plan failed** |" in markdown
    assert "| `prod` | stack file removed" in markdown
    assert "`retentionInDays`: `30` → `120`" in markdown
    assert "### Stack `broken`: plan failed" in markdown
    assert "azureml-dask:lcation" in markdown  # the settings error, for the reviewer
    assert "azureml-dask:lcation" in done.stderr

    (root / "Pulumi.broken.yaml").unlink()
    done = _plan_diff(root, "HEAD")
    assert done.returncode == 0
    assert "| `dev` | changes |" in done.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ((), 2, "usage: scripts/plan-diff"),
        (("a", "b"), 2, "usage: scripts/plan-diff"),
        (("--frobnicate",), 2, "usage: scripts/plan-diff"),
        (("no-such-branch",), 3, "unknown git revision"),
    ],
)
def test_plan_diff_bad_input_exits_2_or_3(
    script_repo: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    done = _plan_diff(script_repo, *args)
    assert done.returncode == code
    assert message in done.stderr
    if code == 2:
        assert done.stdout == ""
    else:  # the Markdown says why too: the workflow posts it
        assert "is not a git revision of this repository" in done.stdout


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_plan_diff_help_exits_0_with_the_usage(script_repo: Path, flag: str) -> None:
    done = _plan_diff(script_repo, flag)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("usage: scripts/plan-diff <git revision>")
    assert "exit status" in done.stdout


def test_a_stack_file_change_plans_the_base_in_this_process_with_the_same_result(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only stack files changed: the base is planned here, and equals the subprocess plan."""
    from plan import base

    commit = base.resolve_revision(repo, "HEAD")
    assert commit is not None
    (repo / "Pulumi.dev.yaml").write_text((repo / "Pulumi.dev.yaml").read_text() + "\n")
    assert base.program_unchanged(repo, commit)
    here = base.plan_at_revision(repo, "HEAD", commit, "prod")
    monkeypatch.setattr(base, "program_unchanged", lambda root, commit: False)
    there = base.plan_at_revision(repo, "HEAD", commit, "prod")
    assert here == there
    assert here["resources"] and here["outputs"]


def test_an_edited_or_new_program_file_is_planned_by_the_revision_s_own_program(
    repo: Path,
) -> None:
    from plan import base

    commit = base.resolve_revision(repo, "HEAD")
    assert commit is not None
    (repo / "infra" / "new_module.py").write_text('"""Not committed yet."""\n')
    assert not base.program_unchanged(repo, commit)
    (repo / "infra" / "new_module.py").unlink()
    assert base.program_unchanged(repo, commit)
    naming = repo / "infra" / "naming.py"
    naming.write_text(naming.read_text() + "\n# an edit\n")
    assert not base.program_unchanged(repo, commit)
