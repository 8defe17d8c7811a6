"""Entry point the Pulumi CLI runs for `--policy-pack policy`: serve the pack, block forever.

Never import this module (tests included): `PolicyPack(...)` starts a gRPC server and blocks.
"""

import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

# The CLI runs this directory as a script, so `policy/` itself is on sys.path, where its
# modules (storage, tags, ...) would shadow any same-named package. Import them as `policy.*`.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from policy.pack import PACK_NAME, POLICIES  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    policies=list(POLICIES),
    enforcement_level=EnforcementLevel.MANDATORY,
)
