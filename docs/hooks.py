"""mkdocs hook: the CLI reference page is made from the commands' own --help."""

from __future__ import annotations

import os
from typing import Any

MARKER = "<!-- commands -->"


def _help(arguments: list[str]) -> str:
    from typer.testing import CliRunner

    from capforecast.cli.main import app

    result = CliRunner().invoke(
        app, [*arguments, "--help"], env={"COLUMNS": "96", "NO_COLOR": "1", "TERM": "dumb"}
    )
    return "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if MARKER not in markdown:
        return markdown
    from typer.main import get_command

    from capforecast.cli.main import app

    os.environ.setdefault("COLUMNS", "96")
    group = get_command(app)
    sections = [f"```text\n{_help([])}\n```"]
    for name in sorted(group.commands):  # type: ignore[attr-defined]
        sections.append(f"## capforecast {name}\n\n```text\n{_help([name])}\n```")
    return markdown.replace(MARKER, "\n\n".join(sections))
