"""Schemathesis fuzzes the running server from its own OpenAPI schema: no request may get
a server error (5xx), and every response must match the schema (documented status codes,
bodies, content types and headers).

Left out are the checks that judge the API's strictness rather than its schema: a
request that is valid by the schema but names an input hash the server does not have is
rightly refused (``positive_data_acceptance``), and the answers to methods no route has
(``unsupported_method``, ``allow_header_conformance``) are the framework's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.service_server import KEY, Server

EXCLUDED = "positive_data_acceptance,unsupported_method,allow_header_conformance"


def test_schemathesis_finds_no_server_error_and_no_schema_violation(tmp_path: Path) -> None:
    server = Server(tmp_path / "service.db")
    server.start()
    try:
        command = [
            sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json",
            "--header", f"X-API-Key: {KEY}", "--max-examples", "30", "--seed", "20261202",
            "--exclude-checks", EXCLUDED, "--no-color",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout[-6000:]
    assert "Server error" not in result.stdout
