"""``python -m labforensics``: the ``labforensics`` command (:func:`labforensics.cli.main`)."""

import sys

from .cli import main

sys.exit(main())
