"""The REST API on a real uvicorn server over loopback HTTP: keys, uploads, jobs created,
polled, fetched, cancelled, and a restart that loses nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from capforecast.examples import sample_history_path, sample_planning_dir
from capforecast.plan.inputs import read_planning_inputs
from capforecast.plan.solve import solve
from tests.service_server import (
    KEY,
    OTHER,
    Server,
    hard_planning_files,
    planning_files,
    wait,
)
from tests.service_server import client as _client


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with Server(tmp_path / "service.db") as running:
        yield running


def test_keys_are_required_and_leak_nothing(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    wrong = [{}, {"X-API-Key": "wrong-key-0123456789"}, {"Authorization": "Bearer x"},
             {"X-API-Key": "caf\xe9-0123456789abcdef".encode("latin-1")}]  # fmt: skip
    for headers in wrong:
        for path in ("/v1/plans/anything", "/metrics", "/docs", "/openapi.json", "/v1/nothing"):
            response = httpx.get(f"{server.url}{path}", headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.json() == {"detail": "a valid API key is required"}
            assert "server" not in response.headers
    assert httpx.get(
        f"{server.url}/openapi.json", headers={"Authorization": f"bearer {KEY}"}
    ).is_success

    def chunks() -> Iterator[bytes]:  # a body that declares no length
        for _ in range(22):
            yield b" " * 2**20

    # Without a key, nothing of the body is read; with one, it is cut off at the limit.
    assert httpx.post(f"{server.url}/v1/inputs", content=chunks()).status_code == 401
    cut = httpx.post(f"{server.url}/v1/inputs", content=chunks(), headers={"X-API-Key": KEY})
    assert cut.status_code == 413


def test_create_poll_fetch_cancel_restart(server: Server) -> None:
    with _client(server) as client:
        upload = client.post("/v1/inputs", json={"kind": "planning", "files": planning_files()})
        assert upload.status_code == 201, upload.text
        key = upload.json()["hash"]
        again = client.post("/v1/inputs", json={"kind": "planning", "files": planning_files()})
        assert again.json()["hash"] == key  # content-addressed

        body = {"planning": key, "options": {"explain": False}}
        created = client.post("/v1/plans", json=body, headers={"Idempotency-Key": "q1-plan"})
        assert created.status_code == 202, created.text
        repeat = client.post("/v1/plans", json=body, headers={"Idempotency-Key": "q1-plan"})
        assert repeat.status_code == 200 and repeat.json()["id"] == created.json()["id"]
        path = f"/v1/plans/{created.json()['id']}"
        done = wait(client, path, ("succeeded", "failed"))
        assert done["state"] == "succeeded", done
        local = solve(read_planning_inputs(sample_planning_dir()).with_options(explain=False))
        assert done["summary"]["objective"] == pytest.approx(local.objective, rel=1e-6)
        purchases = client.get(f"{path}/files/purchases.csv")
        assert purchases.status_code == 200 and purchases.text.startswith("sku,site,order_period")
        as_json = client.get(f"{path}/tables/purchases").json()
        assert as_json["columns"][:3] == ["sku", "site", "order_period"]
        units = sum(row[as_json["columns"].index("units")] for row in as_json["rows"])
        assert units == local.purchases["units"].sum()
        escape = f"{server.url}{path}/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd"  # reaches the route
        raw = httpx.Request("GET", escape, headers={"X-API-Key": KEY})
        assert client.send(raw).status_code == 404
        with _client(server, OTHER) as stranger:  # another key sees no such job or input
            assert stranger.get(path).status_code == 404
            assert stranger.get(f"/v1/inputs/{key}").status_code == 404
            assert stranger.post("/v1/plans", json=body).status_code == 422
        reused = client.post(
            "/v1/plans", json={**body, "options": {"explain": True}},
            headers={"Idempotency-Key": "q1-plan"},
        )  # fmt: skip
        assert reused.status_code == 409

        # With half the budget the plan is hard (it runs to its 60 s limit): cancel it
        # while it runs.
        files = hard_planning_files()
        hard = client.post("/v1/inputs", json={"kind": "planning", "files": files}).json()["hash"]
        slow = {"planning": hard, "options": {"explain": False, "time_limit_s": 60}}
        long_job = client.post("/v1/plans", json=slow).json()
        long_path = f"/v1/plans/{long_job['id']}"
        wait(client, long_path, ("running",))
        cancelled = client.delete(long_path)
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"

        # One more running when the server stops: interrupted after the restart.
        running = client.post("/v1/plans", json=slow).json()
        wait(client, f"/v1/plans/{running['id']}", ("running",))
    server.stop()
    server.start()
    with _client(server) as client:
        kept = client.get(path).json()
        assert kept["state"] == "succeeded" and "purchases.csv" in kept["files"]
        assert client.get(f"{path}/files/purchases.csv").text == purchases.text
        assert client.get(long_path).json()["state"] == "cancelled"
        interrupted = client.get(f"/v1/plans/{running['id']}").json()
        assert interrupted["state"] == "interrupted" and "submit it again" in interrupted["error"]
        metrics = client.get("/metrics").text
        assert 'capforecast_jobs{kind="plans",state="succeeded"} 1' in metrics


def test_bad_requests_get_413_and_422_naming_the_field(server: Server) -> None:
    with _client(server) as client:
        huge = client.post("/v1/inputs", content=b"x" * (21 * 2**20),
                           headers={"Content-Type": "application/json"})  # fmt: skip
        assert huge.status_code == 413
        bad = client.post("/v1/forecasts", json={"history": "0" * 64, "horizon": -1})
        assert bad.status_code == 422
        assert ["body", "horizon"] in [e["loc"] for e in bad.json()["detail"]]
        text = b'{"planning": "' + b"0" * 64 + b'", "options": {"time_limit_s": Infinity}}'
        infinite = client.post(
            "/v1/plans", content=text, headers={"Content-Type": "application/json"}
        )
        assert infinite.status_code == 422 and "input" not in infinite.json()["detail"][0]
        forever = client.post(
            "/v1/plans", json={"planning": "0" * 64, "options": {"time_limit_s": 1e9}}
        )
        assert forever.status_code == 422 and "at most 900" in forever.text
        surrogate = client.post(
            "/v1/inputs", content=b'{"kind": "history", "files": {"a.csv": "\\ud800"}}',
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        assert surrogate.status_code == 422
        files = planning_files()
        files["budget.csv"] = "period,capex_budget\n2027Q1,-5\n"
        broken = client.post("/v1/inputs", json={"kind": "planning", "files": files})
        assert broken.status_code == 422
        assert any(e["loc"] == ["body", "files", "budget.csv"] for e in broken.json()["detail"])
        sneaky = client.post("/v1/inputs", json={"kind": "history", "files": {"../x.csv": "a"}})
        assert sneaky.status_code == 422
        unknown = client.post("/v1/plans", json={"planning": "f" * 64})
        assert unknown.status_code == 422 and "no planning input" in unknown.text


def test_forecast_and_comparison_jobs(server: Server) -> None:
    history = sample_history_path().read_text().splitlines()
    small = "\n".join([history[0], *[r for r in history[1:] if r.startswith("platform/eval")]])
    with _client(server) as client:
        key = client.post("/v1/inputs", json={"kind": "history", "files": {"h.csv": small}})
        assert key.status_code == 201, key.text
        job = client.post("/v1/forecasts", json={"history": key.json()["hash"], "horizon": 14})
        done = wait(client, f"/v1/forecasts/{job.json()['id']}", ("succeeded", "failed"))
        assert done["state"] == "succeeded", done
        table = client.get(f"/v1/forecasts/{done['id']}/files/forecast.csv").text
        assert table.startswith("unique_id,ds,model,mean")
        planning = client.post("/v1/inputs", json={"kind": "planning", "files": planning_files()})
        scenarios = [
            {"name": "base", "options": {"explain": False}},
            {"name": "cut", "options": {"explain": False},
             "budget": [{"periods": "2027", "change": "-20%"}]},
        ]  # fmt: skip
        body = {"planning": planning.json()["hash"], "scenarios": scenarios}
        job = client.post("/v1/comparisons", json=body)
        done = wait(client, f"/v1/comparisons/{job.json()['id']}", ("succeeded", "failed"))
        assert done["state"] == "succeeded", done
        assert {"kpis.csv", "report.html", "report.xlsx", "summary.json"} <= set(done["files"])
        report = client.get(f"/v1/comparisons/{done['id']}/files/report.html")
        assert report.headers["content-type"].startswith("text/html") and "cut" in report.text


def test_a_small_concurrent_load_has_no_errors_and_loses_no_job(tmp_path: Path) -> None:
    from benchmarks.api_load import load

    server = Server(tmp_path / "service.db", "--max-jobs-per-key", "40")
    server.start()
    try:
        result = load(server.url, requests=24, clients=8)
    finally:
        server.stop()
    assert result["errors"] == []
    assert result["jobs"] == 12 and result["succeeded"] == 12
