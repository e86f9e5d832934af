"""The analyst's own rules (docs/rules.md): labelled quantities, named constraints, the
same plan as the equivalent data file, priced, diagnosed and reported like any family.

The instances are those of tests/test_commercial.py: one site, workload "jobs" needing 10
reference units in 2027Q1-Q2 and 20 in Q3-Q4, SKUs gpu (vendor nv, $100) and alt (vendor
amd, $120); the plan without rules buys 10 gpu in Q1 and 10 in Q3 for $2,000.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from capforecast.core.errors import InputError
from capforecast.plan.explain import RELAXED
from capforecast.plan.inputs import read_planning_inputs
from capforecast.plan.rules import RuleModel
from capforecast.plan.solve import solve
from capforecast.plan.status import PlanStatus
from tests.conftest import CliResult
from tests.test_commercial import _instance, _plan, _units


def test_a_cap_rule_binds_with_a_hand_checked_shadow_price(tmp_path: Path) -> None:
    # At most 15 gpu in all: 15 gpu and 5 alt, $2,100. With orders continuous, one more
    # gpu allowed replaces one alt: the rule is worth $120 - $100 = $20 per accelerator.
    inputs = read_planning_inputs(_instance(tmp_path)).with_rules(
        {"gpu_cap": "units(sku='gpu').sum() <= 15"}
    )
    plan = solve(inputs)
    assert plan.status is PlanStatus.OPTIMAL
    assert plan.objective == pytest.approx(2100.0)
    assert (_units(plan, "gpu"), _units(plan, "alt")) == (15, 5)
    row = plan.binding[plan.binding["family"] == "gpu_cap"]
    assert row["shadow_price"].tolist() == pytest.approx([-20.0])
    assert row["basis"].tolist() == [RELAXED] and row["unit"].tolist() == ["accelerators"]
    assert any(
        "Rule gpu_cap: each accelerator more of room in it would lower the expected "
        "cost by $20.00" in s
        for s in plan.explanations
    ), plan.explanations
    rules = plan.rules.set_index("rule")
    assert rules.loc["gpu_cap", ["left", "sense", "right", "slack"]].tolist() == [
        15.0,
        "<=",
        15.0,
        0.0,
    ]


def test_a_rule_and_the_data_file_give_the_same_plan(tmp_path: Path) -> None:
    """nv at most 50% of capex, once as vendor_limits.csv and once as a rule."""
    by_file = _plan(_instance(tmp_path / "file", vendor_limits_csv="vendor,max_share\nnv,0.5\n"))
    inputs = read_planning_inputs(_instance(tmp_path / "rule")).with_rules(
        {"nv_half": "capex(vendor='nv').sum() <= 0.5 * capex().sum()"}
    )
    by_rule = solve(inputs)
    assert by_rule.objective == pytest.approx(by_file.objective) == pytest.approx(2200.0)
    columns = ["sku", "site", "order_period", "lots"]
    assert by_rule.purchases[columns].equals(by_file.purchases[columns])


def test_a_python_rule_is_the_same_rule(tmp_path: Path) -> None:
    def rules(m: RuleModel) -> None:
        m.add("nv_half", m.capex(vendor="nv").sum() <= 0.5 * m.capex().sum())

    plan = solve(read_planning_inputs(_instance(tmp_path)), rules=rules)
    assert plan.objective == pytest.approx(2200.0)


def test_a_rule_per_period_has_a_row_per_period(tmp_path: Path) -> None:
    # At least 12 installed in each quarter of 2027H1: 12 gpu from Q1 (8 more in Q3).
    inputs = read_planning_inputs(_instance(tmp_path)).with_rules(
        {"floor": "installed(site='dc', periods='2027Q1..2027Q2') >= 12"}
    )
    plan = solve(inputs)
    assert plan.objective == pytest.approx(2000.0)
    rules = plan.rules
    assert rules["period"].astype(str).tolist() == ["2027Q1", "2027Q2"]
    assert rules["left"].tolist() == [12.0, 12.0] and rules["right"].tolist() == [12.0, 12.0]


def test_at_most_one_sku_with_a_binary(tmp_path: Path) -> None:
    # Buy gpu or alt, not both: with nv capped at 50% of capex that is infeasible unless
    # everything is alt (nv 0%): 20 alt, $2,400.
    rules = {
        "nv_half": "capex(vendor='nv').sum() <= 0.5 * capex().sum()",
        "gpu_if_chosen": "units(sku='gpu').sum() <= 1000 * binary('gpu')",
        "alt_if_chosen": "units(sku='alt').sum() <= 1000 * binary('alt')",
        "one_sku": "binary('gpu') + binary('alt') <= 1",
    }
    plan = solve(read_planning_inputs(_instance(tmp_path)).with_rules(rules))
    assert plan.objective == pytest.approx(2400.0)
    assert (_units(plan, "gpu"), _units(plan, "alt")) == (0, 20)


def test_an_infeasible_rule_is_named_in_the_diagnosis(tmp_path: Path) -> None:
    # 5,000 gpu at dc in 2027Q1 need 5 MW and $500,000; the site has 1 MW and the 2027
    # budget is $100,000: only relaxing the rule itself (by 4,000) gives a plan.
    inputs = read_planning_inputs(_instance(tmp_path)).with_rules(
        {"too_many": "installed(sku='gpu', periods='2027Q1') >= 5000"}
    )
    plan = solve(inputs)
    assert plan.status is PlanStatus.INFEASIBLE
    said = " ".join(plan.diagnosis)
    assert "rule too_many relaxed: 4,000.0 accelerators in all (too_many)" in said, said
    assert "More power alone cannot make the plan feasible (power)" in said, said
    assert "too_many" in set(plan.relaxations["family"])


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("installed(sku='B300') >= 1", "unknown sku 'B300'"),
        ("installed(sku='gpu', periods='2031') >= 1", "selects none of the horizon"),
        ("lots(sku='gpu', colour='red') >= 1", "lots() takes sku, site, vendor"),
        ("installed(sku='gpu') >= 1e400", "not a finite number"),
        ("installed(sku='gpu') > 1", "a strict < or > is not a constraint"),
        ("__import__('os').system('true') >= 1", "unknown method .system()"),
        ("[x for x in installed()] >= 1", "not allowed in a rule"),
        ("installed(sku='gpu') * installed(sku='alt') >= 1", "a rule is linear"),
        ("3 >= 1", "compares a quantity"),
        ("installed(periods='2027Q1') >= installed(periods='2027Q2')", "different periods"),
        ("installed() >= 1/0", "division by zero"),
        ("installed() >= 1" + "0" * 400, "too large a number"),
        ("installed() * 1e308 * 10 >= 0", "multiplied by a number too large"),
        ("(lots() <= 3) + 1 >= lots()", "one comparison, at the top"),
        ("lots()() >= 1", "call a quantity by its name"),
    ],
)
def test_mistakes_in_a_rule_name_it_and_its_labels(tmp_path: Path, rule: str, words: str) -> None:
    with pytest.raises(InputError) as raised:
        solve(read_planning_inputs(_instance(tmp_path)).with_rules({"mine": rule}))
    message = str(raised.value)
    assert "constraints.mine" in message and words in message, message


def test_a_rule_name_is_one_family(tmp_path: Path) -> None:
    inputs = read_planning_inputs(_instance(tmp_path))
    with pytest.raises(InputError, match="is taken"):
        solve(inputs.with_rules({"budget": "units().sum() <= 100"}))
    with pytest.raises(InputError, match="is taken"):  # a family this model does not have
        solve(inputs.with_rules({"cvar": "units().sum() <= 100"}))
    with pytest.raises(InputError, match="rule name"):
        inputs.with_rules({"9lives": "units().sum() <= 100"})


def test_a_folder_keeps_its_rules(tmp_path: Path) -> None:
    from capforecast.plan.inputs import write_planning_inputs

    folder = _instance(tmp_path / "a")
    (folder / "constraints.yaml").write_text("gpu_cap: \"units(sku='gpu').sum() <= 15\"\n")
    inputs = read_planning_inputs(folder)
    assert [(r.name, r.line) for r in inputs.rules] == [("gpu_cap", 1)]
    write_planning_inputs(inputs, tmp_path / "b")
    again = read_planning_inputs(tmp_path / "b")
    assert again.rules == tuple(
        type(r)(r.name, r.text, r.source, r.line) for r in again.rules
    ) and [r.text for r in again.rules] == [r.text for r in inputs.rules]
    (folder / "constraints.yaml").write_text("gpu_cap: installed(sku='gpu') >\n")
    with pytest.raises(InputError, match=r"constraints.yaml, line 1, key 'constraints.gpu_cap'"):
        read_planning_inputs(folder)
    assert np.isfinite(solve(inputs).objective)


def test_a_scenario_with_constraints_runs_through_the_report(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    import openpyxl

    folder = _instance(tmp_path / "inputs")
    (tmp_path / "base.yaml").write_text(f"inputs: {{planning: {folder}}}\n")
    (tmp_path / "capped.yaml").write_text(
        "extends: base.yaml\nconstraints:\n  gpu_cap: \"units(sku='gpu').sum() <= 15\"\n"
    )
    out = tmp_path / "report"
    result = cli("report", tmp_path / "base.yaml", tmp_path / "capped.yaml", "--out", out)
    assert result.code == 0, result.stderr
    assert "gpu_cap" in (out / "report.html").read_text()
    sheet = openpyxl.load_workbook(out / "report.xlsx")["rules"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("plan", "rule") and rows[1][:2] == ("capped", "gpu_cap")
    (tmp_path / "bad.yaml").write_text(
        "extends: base.yaml\nconstraints:\n  gpu_cap: \"units(sku='tpu').sum() <= 15\"\n"
    )
    bad = cli("report", tmp_path / "bad.yaml", "--out", tmp_path / "bad")
    assert bad.code == 2, bad.stderr
    assert "bad.yaml, line 3, key 'constraints.gpu_cap'" in bad.stderr
    assert "unknown sku 'tpu'" in bad.stderr


def test_a_cost_of_ones_own_is_minimised_and_reported(tmp_path: Path) -> None:
    # A $30 fee on every gpu makes it dearer ($130) than alt ($120): 20 alt, $2,400.
    def fee(m: RuleModel) -> None:
        m.cost("gpu_fee", 30 * m.units(sku="gpu").sum())

    plan = solve(read_planning_inputs(_instance(tmp_path)), rules=fee)
    assert plan.objective == pytest.approx(2400.0)
    assert (_units(plan, "gpu"), _units(plan, "alt")) == (0, 20)
    assert plan.costs["gpu_fee"] == 0.0 and plan.gap is not None and plan.gap <= 1e-9


def test_rules_and_their_binaries_export_to_cbc(tmp_path: Path) -> None:
    """The same rule through PuLP and CBC (names made from rule and binary names)."""
    inputs = read_planning_inputs(_instance(tmp_path)).with_options(solver="cbc")
    plan = solve(
        inputs.with_rules(
            {
                "gpu_cap": "units(sku='gpu').sum() <= 15 + 0 * binary('spare')",
                "per_quarter": "installed(periods='2027Q3..2027Q4') >= 20",
            }
        )
    )
    assert plan.status is PlanStatus.OPTIMAL and plan.objective == pytest.approx(2100.0)
    with pytest.raises(InputError, match="single _"):
        inputs.with_rules({"gpu__cap": "units(sku='gpu').sum() <= 15"})
