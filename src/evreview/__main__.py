"""``python -m evreview`` runs the CLI."""

import sys

from evreview.cli import main

sys.exit(main())
