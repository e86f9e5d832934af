"""The documentation site builds with every warning an error (broken links, missing
pages, API references that do not resolve), and its CLI page lists every command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.main import get_command

from capforecast.cli.main import app

ROOT = Path(__file__).resolve().parent.parent


def test_docs_build_strict_with_every_command(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "WARNING" not in result.stderr, result.stderr[-3000:]
    cli_page = (site / "cli" / "index.html").read_text()
    for name in get_command(app).commands:  # type: ignore[attr-defined]
        assert f"capforecast {name}" in cli_page, name
    api_page = (site / "api" / "index.html").read_text()
    assert "capforecast.scenario.compare.compare" in api_page
    assert (site / "images" / "report.png").is_file()
