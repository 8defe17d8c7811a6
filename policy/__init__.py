"""The policy pack that guards every stack of this project (`pulumi preview --policy-pack policy`).

Each module holds the policies for one concern; `policy.pack.POLICIES` lists them all.
`policy/__main__.py` only hands that list to `PolicyPack`, which starts a server and
blocks, so tests import the policy modules and call each policy's `validate` directly.
"""
