"""`python -m plan --stack dev`: what a stack would create, without a cloud account.

Runs the real program under the offline engine (`plan.offline`) and prints the plan
(`plan.stack_plan`): the resource tree, the properties Azure would receive (secrets
masked) and the stack outputs. `--json FILE` writes that structure; `--diff BASE` compares
it with a plan file or with the plan at a git revision (`plan.base`), `--compare A B`
compares two stacks (`plan.diff`), and `--markdown` renders for GitHub (`plan.report`).
Exit statuses: `plan.exit_codes`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from infra.settings import SettingsError
from plan import report
from plan.base import Base, BaseError, find_base, load_base
from plan.diff import PlanDiff, PlanFormatError, compare_plans, diff_plans
from plan.exit_codes import ExitCode
from plan.offline import REPO_ROOT, StackFileError, run_stack
from plan.stack_plan import (
    PlanFileError,
    build_plan,
    render_markdown,
    render_text,
    write_json,
    write_outputs_json,
)

INVALID_INPUT_ERRORS = (StackFileError, SettingsError, BaseError, PlanFormatError, PlanFileError)
"""What a user can fix: the message names the culprit, and the exit status is 3."""

_EPILOG = (
    "exit status: 0 no changes, 6 changes, 7 destructive changes, 2 bad command line, "
    "3 invalid input (stack file, settings, --diff base, output file), 1 unexpected error"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(  # a usage error exits 2, `--help` 0: argparse's own
        prog="python -m plan",
        description="Show what a stack would create, offline (Pulumi mocks, no Azure), "
        "and what a change or another stack would do differently.",
        epilog=_EPILOG,
    )
    parser.add_argument("--stack", default="dev", help="stack name: Pulumi.<stack>.yaml")
    parser.add_argument(
        "--json", metavar="FILE", help="write the plan as JSON to FILE (- for standard output)"
    )
    parser.add_argument(
        "--outputs-json",
        metavar="FILE",
        help="also write the stack outputs as `pulumi stack output --json` prints them",
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--diff",
        metavar="BASE",
        help="compare with BASE: a plan file written by --json, or a git revision "
        "(e.g. origin/main) whose program is planned in a temporary checkout",
    )
    what.add_argument(
        "--compare",
        nargs=2,
        metavar=("STACK", "OTHER"),
        help="show what differs between two stacks, e.g. --compare dev prod",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="GitHub Markdown (job summaries, PR comments)"
    )
    return parser


def _show_diff(diff: PlanDiff, markdown: bool) -> int:
    sys.stdout.write(
        report.render_markdown(diff)
        if markdown
        else report.render_text(diff, verbose=not diff.compare)
    )
    return diff.exit_code


def _run(args: argparse.Namespace, root: Path) -> int:
    if args.compare:
        if args.json or args.outputs_json:
            raise PlanFileError(
                "--json and --outputs-json write one stack's plan; they cannot go with --compare"
            )
        first, other = args.compare
        plans = [build_plan(run_stack(stack, root)) for stack in (first, other)]
        return _show_diff(compare_plans(plans[0], plans[1], first, other), args.markdown)
    # A base that cannot be used is refused before the stack is planned or a file written.
    base: Base | None = find_base(root, args.diff, args.stack) if args.diff else None
    plan = build_plan(run_stack(args.stack, root))
    base_plan = load_base(root, base, args.stack) if base else None
    if args.json:
        write_json(plan, args.json)
    if args.outputs_json:
        write_outputs_json(plan, args.outputs_json)
    if base and base_plan is not None:
        return _show_diff(diff_plans(base_plan, plan, base.label, "working tree"), args.markdown)
    if not args.json:
        sys.stdout.write(render_markdown(plan) if args.markdown else render_text(plan) + "\n")
    return ExitCode.NO_CHANGES


def main(argv: Sequence[str] | None = None, root: Path = REPO_ROOT) -> int:
    """CLI entry point; returns the process exit status (`plan.exit_codes.ExitCode`).

    Input the user can fix is reported as `error: <message>` on standard error with status
    3, never with a traceback; only a bug escapes as an exception.
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # usage errors (2) and --help (0)
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    try:
        return _run(args, root)
    except INVALID_INPUT_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ExitCode.INVALID_INPUT
