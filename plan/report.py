"""Renderings of a `PlanDiff`: terminal text and Markdown (job summaries, PR comments).

Both put destructive changes first, under a loud warning, then what is added, removed and
changed, then the stack outputs. Secret values never appear: a change where either side is
a secret shows `[secret]` on both sides.
"""

from __future__ import annotations

from plan.diff import SECRET_MASK, PlanDiff, PropertyChange, ResourceChange, show_value

_SYMBOL = {"add": "+", "remove": "-", "change": "~"}


def summary(diff: PlanDiff) -> str:
    """One line: how many resources are added, removed, changed, and how many destructively."""
    if not diff.has_changes:
        return "no differences" if diff.compare else "no changes"
    if diff.compare:
        parts = [
            f"{len(diff.by_action('remove'))} only in {diff.before_label}",
            f"{len(diff.by_action('add'))} only in {diff.after_label}",
            f"{len(diff.by_action('change'))} differ",
        ]
    else:
        parts = [
            f"{len(diff.by_action(action))} to {action}" for action in ("add", "remove", "change")
        ]
    if diff.outputs:
        parts.append(f"{len(diff.outputs)} output{'s' if len(diff.outputs) != 1 else ''}")
    if diff.destructive:
        parts.append(f"{len(diff.destructive)} DESTRUCTIVE")
    return ", ".join(parts)


def _values(change: PropertyChange) -> tuple[str, str]:
    if change.secret:
        return SECRET_MASK, SECRET_MASK
    return show_value(change.before), show_value(change.after)


def _label(change: PropertyChange) -> str:
    return f"{change.path} (resource option)" if change.option else change.path


def _heading(diff: PlanDiff) -> str:
    if diff.compare:
        return f"Stacks {diff.stack}: {summary(diff)}"
    return f"Stack {diff.stack}: {diff.before_label} -> {diff.after_label}: {summary(diff)}"


def _replacement_note(resource: ResourceChange) -> str:
    note = f"replaced (changes to {', '.join(resource.replaced_by)} re-create it)"
    if resource.protected and resource.destructive:
        note += "; protected: `pulumi up` refuses until protect is lifted"
    return note


# --------------------------------------------------------------------------------------
# Terminal text
# --------------------------------------------------------------------------------------


def _text_changes(resource: ResourceChange, indent: str) -> list[str]:
    lines = []
    for change in resource.changes:
        before, after = _values(change)
        if resource.action == "add":
            lines.append(f"{indent}{_label(change)}: {after}")
        elif resource.action == "remove":
            lines.append(f"{indent}{_label(change)}: {before}")
        else:
            lines.append(f"{indent}{_label(change)}: {before} -> {after}")
    return lines


def render_text(diff: PlanDiff, *, verbose: bool = False) -> str:
    """The diff for a terminal. Added and removed resources list their properties only
    with `verbose` (a changed resource always lists what changed)."""
    lines = [_heading(diff)]
    if diff.destructive:
        lines += [
            "",
            "!! DESTRUCTIVE: these changes re-create or delete a resource and lose its data:",
        ]
        for r in diff.destructive:
            lines.append(f"!!   {_SYMBOL[r.action]} {r.name} ({r.type}): {r.destructive}")
            if r.action == "change":
                lines += _text_changes(_only(r, r.replaced_by), "!!       ")
                if r.protected:
                    lines.append("!!       protected: `pulumi up` refuses until protect is lifted")
    if diff.renamed:
        a, b = diff.before_label, diff.after_label
        lines += ["", f"Names (differ by design; shown as <address> below): {a} | {b}"]
        lines += [f"  {address}: {name_a} | {name_b}" for address, name_a, name_b in diff.renamed]
    if diff.resources:
        lines += ["", "Resources:" if not diff.compare else f"Resources ({_legend(diff)}):"]
    for r in diff.resources:
        lines.append(f"  {_SYMBOL[r.action]} {r.name} ({r.type})")
        if r.replaced_by and not diff.compare:
            lines.append(f"      {_replacement_note(r)}")
        if r.action == "change" or verbose:
            lines += _text_changes(r, "      ")
    if diff.outputs:
        lines += ["", "Outputs:"]
        for change in diff.outputs:
            before, after = _values(change)
            lines.append(f"  ~ {change.path}: {before} -> {after}")
    return "\n".join(lines) + "\n"


def _legend(diff: PlanDiff) -> str:
    return f"- only in {diff.before_label}, + only in {diff.after_label}, ~ differs"


def _only(resource: ResourceChange, paths: list[str]) -> ResourceChange:
    return ResourceChange(
        resource.action,
        resource.address,
        resource.type,
        resource.name,
        [c for c in resource.changes if c.path in paths],
    )


# --------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------


def _code(text: str) -> str:
    """Inline code; a value holding a backtick gets the double-backtick form."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _md_change(change: PropertyChange, action: str) -> str:
    before, after = _values(change)
    label = _code(change.path) + (" (resource option)" if change.option else "")
    if action == "add":
        return f"{label}: {_code(after)}"
    if action == "remove":
        return f"{label}: {_code(before)}"
    return f"{label}: {_code(before)} → {_code(after)}"


def _md_action(r: ResourceChange, diff: PlanDiff) -> str:
    if diff.compare:
        where = {"add": diff.after_label, "remove": diff.before_label}.get(r.action)
        return f"**only in {where}**" if where else "**differs**"
    return f"**{r.action}**"


def _md_resource(r: ResourceChange, diff: PlanDiff) -> list[str]:
    head = f"- {_md_action(r, diff)} {_code(r.name)} · {_code(r.type)}"
    if r.replaced_by and not diff.compare:
        head += f" · **{_replacement_note(r)}**"
    if r.action == "change":
        return [head] + [f"  - {_md_change(c, r.action)}" for c in r.changes]
    # Added or removed: the full property list stays folded.
    return [
        head,
        "  <details><summary>properties</summary>",
        "",
        *[f"  - {_md_change(c, r.action)}" for c in r.changes],
        "",
        "  </details>",
    ]


def render_markdown(diff: PlanDiff, *, heading_level: int = 3) -> str:
    """The diff as GitHub-flavoured Markdown, destructive changes first in a caution box."""
    h = "#" * heading_level
    if diff.compare:
        lines = [f"{h} Stacks `{diff.stack}`: {summary(diff)}", ""]
    else:
        lines = [
            f"{h} Stack `{diff.stack}`: {summary(diff)}",
            "",
            f"Offline plan of {_code(diff.after_label)} against {_code(diff.before_label)}.",
            "",
        ]
    if not diff.has_changes:
        return "\n".join(lines)
    if diff.destructive:
        lines += [
            "> [!CAUTION]",
            "> **Destructive: these changes re-create or delete a resource and lose its data.**",
        ]
        for r in diff.destructive:
            lines.append(
                f"> - {_md_action(r, diff)} {_code(r.name)} · {_code(r.type)}: {r.destructive}"
            )
            if r.action == "change":
                lines += [
                    f">   - {_md_change(c, r.action)}" for c in r.changes if c.path in r.replaced_by
                ]
                if r.protected:
                    lines.append(">   - protected: `pulumi up` refuses until protect is lifted")
        lines.append("")
    if diff.renamed:
        lines += [
            "<details><summary>Names that differ by design (shown as "
            "<code>&lt;address&gt;</code> below)</summary>",
            "",
            f"| resource | {diff.before_label} | {diff.after_label} |",
            "|---|---|---|",
            *[f"| {_code(a)} | {_code(x)} | {_code(y)} |" for a, x, y in diff.renamed],
            "",
            "</details>",
            "",
        ]
    if diff.resources:
        for r in diff.resources:
            lines += _md_resource(r, diff)
        lines.append("")
    if diff.outputs:
        lines += [f"{h}# Outputs", ""]
        lines += [f"- {_md_change(c, 'change')}" for c in diff.outputs]
        lines.append("")
    return "\n".join(lines)
