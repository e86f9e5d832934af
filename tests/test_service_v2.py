"""The REST API with the second version of the planning contract, over loopback HTTP to a
real server: regions, ``eligibility.csv``, ``clusters.csv``, catalog ``opex``, a legacy
SKU, fleet ``salvage_value`` and ``early_retirement`` in an upload; the plan's
``clusters.csv`` and ``retirements.csv`` as files and table pages; a bad row of the new
files as a ``422`` naming file, row and column; and a schema that lists the new tables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from capforecast.core.schemas import PLANNING_FILES
from capforecast.plan.inputs import read_planning_inputs
from capforecast.plan.result import CLUSTER_COLUMNS, RETIREMENT_COLUMNS
from capforecast.plan.solve import solve
from capforecast.service.requests import MAX_FILES
from tests.service_server import Server, wait
from tests.service_server import client as _client

DONE = ("succeeded", "failed")


def regional_files(eligibility: bool = True) -> dict[str, str]:
    """One quarter, hand-worked (no energy cost, no discounting, no terminal value).

    - ``texas`` (region ``us``) has 10 ``h100`` and room for no more (10 kW);
      ``amsterdam`` (``eu``) has 5 ``a100``, a legacy SKU (no longer orderable) with an
      opex of 100 USD per unit-period and a salvage value of 300 USD per unit.
    - Inference demand: 4 reference units in ``us``, 6 in ``eu``; ``eligibility.csv``
      lets ``eu`` inference use ``texas`` (and only ``texas``), whose 10 units cover both.
    - The training cluster ``frontier``: 20 reference units in ``eu`` = 20 new ``h100``
      at ``amsterdam``, 20,000 USD.
    - ``early_retirement``: the idle ``a100`` are retired, for -1,500 USD of salvage
      (and no opex). The objective is 20,000 - 1,500 = 18,500 USD.

    Without ``eligibility.csv``, ``eu`` inference may only use ``amsterdam``: 4 ``a100``
    serve 2 of its 6 reference units (100 USD opex + 300 USD salvage forgone per 0.5
    unit, cheaper than a 1,000 USD ``h100`` per unit), 4 more ``h100`` serve the rest
    (the fifth ``a100`` would leave half a unit: it is retired). The objective is
    24 x 1,000 + 4 x 100 - 300 = 24,100 USD.
    """
    files = {
        "catalog.csv": "sku,unit_price,lot_size,power_kw,lead_time,lifetime,opex,availability\n"
        "h100,1000,1,1.0,0,1,,1\na100,,,1.0,,,100,\n",
        "perf.csv": "sku,workload,factor\nh100,inference,1.0\nh100,training,1.0\n"
        "a100,inference,0.5\n",
        "sites.csv": "site,pue,energy_price,power_cap_kw,region\n"
        "texas,1.0,0,10,us\namsterdam,1.0,0,100,eu\n",
        "fleet.csv": "sku,site,units,available_from,retire_period,salvage_value\n"
        "h100,texas,10,,,\na100,amsterdam,5,,,300\n",
        "budget.csv": "period,capex_budget\n2027Q1,1e6\n",
        "demand.csv": "workload,region,period,demand\n"
        "inference,us,2027Q1,4\ninference,eu,2027Q1,6\n",
        "clusters.csv": "cluster,workload,size,start,end,region\n"
        "frontier,training,20,2027Q1,2027Q1,eu\n",
        "options.yaml": "hours_per_period: 1000\nload_factor: 1.0\nterminal_value: none\n"
        "mip_gap: 0\nexplain: false\nearly_retirement: true\n",
    }
    if eligibility:
        files["eligibility.csv"] = "workload,region,site\ninference,eu,texas\n"
    return files


def local_plan(files: dict[str, str], folder: Path) -> Any:
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return solve(read_planning_inputs(folder))


def records(page: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(page["columns"], row, strict=True)) for row in page["rows"]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("service") / "service.db") as running:
        yield running


def test_every_planning_file_fits_in_one_upload() -> None:
    assert len(PLANNING_FILES) + 2 <= MAX_FILES  # and options.yaml, constraints.yaml


def test_a_regional_plan_places_its_cluster_and_retires_idle_fleet(
    server: Server, tmp_path: Path
) -> None:
    files = regional_files()
    with _client(server) as api:
        upload = api.post("/v1/inputs", json={"kind": "planning", "files": files})
        assert upload.status_code == 201, upload.text
        key = upload.json()["hash"]
        assert upload.json()["files"] == sorted(files)
        assert {"eligibility.csv", "clusters.csv"} <= set(
            api.get(f"/v1/inputs/{key}").json()["files"]
        )

        job = api.post("/v1/plans", json={"planning": key})
        assert job.status_code == 202, job.text
        path = f"/v1/plans/{job.json()['id']}"
        done = wait(api, path, DONE)
        assert done["state"] == "succeeded", done
        assert {"clusters.csv", "retirements.csv"} <= set(done["files"])
        summary = done["summary"]
        assert summary["objective"] == pytest.approx(18_500)
        assert summary["costs"]["capex"] == pytest.approx(20_000)
        assert summary["costs"]["salvage"] == pytest.approx(-1_500)
        assert summary["costs"]["unplaced_clusters"] == pytest.approx(0)
        totals = summary["totals"]
        assert (totals["clusters_placed"], totals["clusters_not_placed"]) == (1, 0)
        assert totals["units_retired_early"] == 5

        # The files are the library's, byte for byte.
        local = local_plan(files, tmp_path / "local")
        assert local.objective == pytest.approx(summary["objective"], rel=1e-9)
        for name in ("clusters.csv", "retirements.csv", "allocation.csv"):
            served = api.get(f"{path}/files/{name}")
            assert served.status_code == 200, name
            assert served.headers["content-type"].startswith("text/csv")
            assert served.content == local.files()[name], name

        # The cluster, placed: as a page of the table.
        clusters = api.get(f"{path}/tables/clusters").json()
        assert clusters["columns"] == list(CLUSTER_COLUMNS)
        assert (clusters["total"], clusters["next"]) == (1, None)
        (cluster,) = records(clusters)
        assert cluster["cluster"] == "frontier" and cluster["placed"] == "True"
        assert (cluster["sku"], cluster["site"], cluster["units"]) == ("h100", "amsterdam", 20)
        assert cluster["penalty"] == 0

        retirements = api.get(f"{path}/tables/retirements").json()
        assert retirements["columns"] == list(RETIREMENT_COLUMNS)
        (retired,) = records(retirements)
        assert (retired["sku"], retired["site"], retired["period"]) == (
            "a100",
            "amsterdam",
            "2027Q1",
        )
        assert (retired["units"], retired["salvage"]) == (5, 1_500)

        # eligibility.csv was read: eu inference is served from texas, in the us.
        allocation = records(api.get(f"{path}/tables/allocation").json())
        eu = {r["site"]: r["reference_units"] for r in allocation if r["region"] == "eu"}
        assert eu == {"texas": pytest.approx(6.0)}

        # The same input without eligibility.csv: another input, another plan.
        without = regional_files(eligibility=False)
        other = api.post("/v1/inputs", json={"kind": "planning", "files": without})
        assert other.status_code == 201 and other.json()["hash"] != key
        job = api.post("/v1/plans", json={"planning": other.json()["hash"]}).json()
        plain = wait(api, f"/v1/plans/{job['id']}", DONE)
        assert plain["state"] == "succeeded", plain
        expected = local_plan(without, tmp_path / "without").objective
        assert plain["summary"]["objective"] == pytest.approx(expected, rel=1e-9)
        assert plain["summary"]["objective"] == pytest.approx(24_100)
        page = api.get(f"/v1/plans/{job['id']}/tables/allocation").json()
        assert {r["site"] for r in records(page) if r["region"] == "eu"} == {"amsterdam"}
        retired = records(api.get(f"/v1/plans/{job['id']}/tables/retirements").json())
        assert [r["units"] for r in retired if r["sku"] == "a100"] == [1]


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        (
            "eligibility.csv",
            "workload,region,site\ninference,eu,texas\ninference,eu,mars\n",
            "eligibility.csv, row 3, column 'site'",
        ),
        (
            "eligibility.csv",
            "workload,region,site\ninference,asia,texas\n",
            "eligibility.csv, row 2, column 'region'",
        ),
        (
            "clusters.csv",
            "cluster,workload,size,start,end,region\nfrontier,training,-20,2027Q1,2027Q1,eu\n",
            "clusters.csv, row 2, column 'size'",
        ),
        (
            "sites.csv",
            "site,pue,energy_price,power_cap_kw,region\ntexas,1.0,0,10,us\namsterdam,1.0,0,100,\n",
            "sites.csv, row 3, column 'region'",
        ),
    ],
    ids=["unknown-site", "unknown-region", "negative-size", "site-without-region"],
)
def test_a_bad_row_of_a_regional_input_is_a_422_naming_file_row_and_column(
    server: Server, name: str, text: str, where: str
) -> None:
    files = regional_files() | {name: text}
    with _client(server) as api:
        bad = api.post("/v1/inputs", json={"kind": "planning", "files": files})
        assert bad.status_code == 422, bad.text
        found = [e for e in bad.json()["detail"] if e["loc"] == ["body", "files", name]]
        assert any(where in e["msg"] for e in found), bad.json()["detail"]
        # Nothing was kept: the good input is still the only one there could be.
        good = api.post("/v1/inputs", json={"kind": "planning", "files": regional_files()})
        assert good.status_code == 201


def test_the_schema_lists_the_new_files_and_tables(server: Server, tmp_path: Path) -> None:
    with _client(server) as api:
        schema = api.get("/openapi.json").json()
    upload = schema["components"]["schemas"]["InputUpload"]["properties"]["files"]
    for spec, _, _ in PLANNING_FILES.values():
        assert spec.file in upload["description"]
    assert upload["maxProperties"] == MAX_FILES

    def parameter(path: str, name: str) -> str:
        found = schema["paths"][path]["get"]["parameters"]
        (described,) = [p["description"] for p in found if p["name"] == name]
        return str(described)

    # The plan tables named are exactly the CSV files of a plan.
    tables = parameter("/v1/{kind}/{job_id}/tables/{table}", "table")
    named = {t.strip(" `") for t in tables.split("plans: ")[1].split(";")[0].split(",")}
    plan = local_plan(regional_files(), tmp_path / "plan")
    assert named == {n.removesuffix(".csv") for n in plan.files() if n.endswith(".csv")}
    assert {"clusters", "retirements"} <= named
    assert "`plan.json`" in parameter("/v1/{kind}/{job_id}/files/{name}", "name")


def test_rules_travel_through_the_api(server: Server) -> None:
    """The analyst's rules as ``constraints.yaml`` in an upload, and as a scenario's
    ``constraints:`` in a comparison: at most 15 gpu (tests/test_rules.py) costs $2,100."""
    from tests.test_commercial import BASE

    files = BASE | {"constraints.yaml": "gpu_cap: \"units(sku='gpu').sum() <= 15\"\n"}
    with _client(server) as api:
        key = api.post("/v1/inputs", json={"kind": "planning", "files": files}).json()["hash"]
        job = api.post("/v1/plans", json={"planning": key}).json()
        done = wait(api, f"/v1/plans/{job['id']}", DONE)
        assert done["state"] == "succeeded", done
        assert done["summary"]["objective"] == pytest.approx(2100.0)
        rules = records(api.get(f"/v1/plans/{job['id']}/tables/rules").json())
        assert [(r["rule"], r["left"], r["sense"], r["right"]) for r in rules] == [
            ("gpu_cap", 15.0, "<=", 15.0)
        ]
        plain = api.post("/v1/inputs", json={"kind": "planning", "files": BASE}).json()["hash"]
        scenarios = [
            {"name": "base"},
            {"name": "capped", "constraints": {"gpu_cap": "units(sku='gpu').sum() <= 15"}},
        ]
        job = api.post("/v1/comparisons", json={"planning": plain, "scenarios": scenarios})
        assert job.status_code == 202, job.text
        done = wait(api, f"/v1/comparisons/{job.json()['id']}", DONE)
        assert done["state"] == "succeeded", done
        kpis = records(api.get(f"/v1/comparisons/{job.json()['id']}/tables/kpis").json())
        cost = {row["scenario"]: row["total_cost"] for row in kpis}
        assert cost == pytest.approx({"base": 2000.0, "capped": 2100.0})
        report = api.get(f"/v1/comparisons/{job.json()['id']}/files/report.html").text
        assert "gpu_cap" in report
        bad = [{"name": "bad", "constraints": {"gpu_cap": "units(sku='tpu').sum() <= 15"}}]
        job = api.post("/v1/comparisons", json={"planning": plain, "scenarios": bad})
        assert job.status_code == 422 and "unknown sku 'tpu'" in job.text, job.text
