"""``python -m galaxy_learn ...`` runs the ``galaxy-learn`` command line."""
import sys

from .cli import main

sys.exit(main())
