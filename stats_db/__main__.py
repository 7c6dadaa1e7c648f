"""Entry point for `python -m stats_db`."""

from stats_db.cli import main

raise SystemExit(main())
