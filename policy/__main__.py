"""Entry point the Pulumi CLI runs for `--policy-pack policy`: serve the pack, block forever.

Never import this module (tests included): `PolicyPack(...)` starts a gRPC server and blocks.
"""

import sys
from pathlib import Path

# The CLI starts this file with `policy/` as the working directory; make `policy.*` importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.pack import PACK_NAME, POLICIES

PolicyPack(
    name=PACK_NAME,
    policies=list(POLICIES),
    enforcement_level=EnforcementLevel.MANDATORY,
)
