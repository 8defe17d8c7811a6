"""`python -m plan`: the offline plan, diff and compare of the stacks (see `plan.cli`)."""

import sys

from plan.cli import main

sys.exit(main())
