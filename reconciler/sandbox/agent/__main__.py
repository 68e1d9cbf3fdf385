"""`python -m reconciler.sandbox.agent` (see `reconciler.sandbox.agent.main`)."""

import sys

from reconciler.sandbox.agent.main import main

sys.exit(main())
