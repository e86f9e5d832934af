"""The "your own company" guide (docs/your-company.md) runs as written: its Python blocks
are executed in order, and what they print is what the page says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "your-company.md"


def test_the_guide_runs_and_prints_what_it_says() -> None:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)
    assert len(blocks) == 2
    namespace: dict[str, object] = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for block in blocks:
            exec(compile(block, str(GUIDE), "exec"), namespace)
    text = printed.getvalue()
    plan = namespace["plan"]
    clusters = plan.clusters  # type: ignore[attr-defined]
    assert bool(clusters["placed"].iloc[0]) and clusters["units"].iloc[0] == 1_905
    assert clusters["site"].iloc[0] == "virginia"
    eu = plan.allocation[plan.allocation["region"] == "eu"]  # type: ignore[attr-defined]
    assert set(eu["site"]) == {"amsterdam"}
    assert "catalog.csv, row 3, column 'availability': must be > 0" in text
    assert "sites.csv, row 3, column 'region': site 'amsterdam' has no region" in text


RULES = GUIDE.parent / "rules.md"


def test_the_rules_cookbook_prints_what_it_says() -> None:
    """Every Python block of docs/rules.md prints exactly the text block that follows it."""
    pairs = re.findall(r"```python\n(.*?)```\n\n```text\n(.*?)```", RULES.read_text(), flags=re.S)
    assert len(pairs) == 6
    namespace: dict[str, object] = {}
    for code, shown in pairs:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, str(RULES), "exec"), namespace)
        assert printed.getvalue() == shown, code
