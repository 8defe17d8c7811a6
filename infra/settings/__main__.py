"""`python -m infra.settings` prints docs/settings.md's generated reference table."""

from infra.settings.reference import markdown_table

print(markdown_table())
