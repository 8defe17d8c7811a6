"""The offline plan tool: what each stack would create, and what a change would do to it.

`offline` runs the real Pulumi program under Pulumi's mocks (no cloud, no CLI);
`stack_plan` turns a run into a plan; `diff` compares two plans and flags destructive
changes; `report` renders a diff; `base` finds the plan to compare with (a plan file or a
git revision); `cli` is `python -m plan`.
"""
