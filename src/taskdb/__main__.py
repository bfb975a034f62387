"""``python -m taskdb``: the ``taskdb`` command."""

import sys

from taskdb.tools.cli import main

sys.exit(main())
