"""``python -m capforecast``: the same as the ``capforecast`` command."""

from capforecast.cli.main import run

raise SystemExit(run())
