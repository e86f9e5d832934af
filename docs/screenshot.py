"""Make docs/images/report.png: the report of the sample scenarios, as headless Chromium
shows it (the top of the page). Run from the project root: ``python docs/screenshot.py``."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from capforecast.cli.main import run  # noqa: E402
from tests.test_report import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

SCENARIOS = ["baseline", "budget-cut-2027", "b200-slip", "inference-2x"]


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        files = [str(ROOT / "data_samples" / "scenarios" / f"{n}.yaml") for n in SCENARIOS]
        if run(["report", *files, "--out", folder, "--jobs", "2"]) != 0:
            return 1
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 1800})
            page.goto((Path(folder) / "report.html").as_uri())
            page.screenshot(path=str(ROOT / "docs" / "images" / "report.png"))
            browser.close()
    print("wrote docs/images/report.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
