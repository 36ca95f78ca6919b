from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowgen.evaluation.harness import evaluate
from flowgen.evaluation.records import Cost, Prediction, Reference
from flowgen.evaluation.report import write_report


@pytest.fixture
def references(example: dict) -> list[Reference]:
    return [
        Reference(id="a", requirement="reassign incidents of inactive users", expected=example,
                  features=["logic_foreach", "trigger_conditional"]),
        Reference(id="b", requirement="same again", expected=example, features=["logic_foreach"]),
        Reference(id="c", requirement="write me a poem", expected={"out_of_scope": True, "reason": "no automation"},
                  features=["out_of_scope"]),
        Reference(id="d", requirement="missing one", expected=example, features=[]),
        Reference(id="e", requirement="garbage", expected=example, features=[]),
    ]  # fmt: skip


def broken(example: dict) -> dict:
    """The example with an else that follows nothing: a structure error, same trees otherwise."""
    example["components"][2]["name"] = "else"
    return example


def test_scores_and_counts(references: list[Reference], example: dict) -> None:
    predictions = {
        "a": Prediction(id="a", output=example),
        "b": Prediction(id="b", output=broken(json.loads(json.dumps(example)))),
        "c": Prediction(id="c", output={"out_of_scope": True, "reason": "not a workflow"}),
        "e": Prediction(id="e", output='{"trigger": '),
    }
    report = evaluate(references, predictions)
    by_id = {s.id: s for s in report.samples}
    assert (by_id["a"].outline, by_id["a"].inputs) == (100.0, 100.0)
    assert by_id["b"].structure_error and by_id["b"].outline_validated == 0.0 and 0 < by_id["b"].outline < 100
    assert by_id["c"].outcome == "refused_rightly" and by_id["c"].inputs == 100.0
    assert by_id["d"].outcome == "missing" and by_id["d"].outline == 0.0
    assert by_id["e"].outcome == "unparsable" and by_id["e"].outline == 0.0
    s = report.summary
    assert s.structure_error_pct == pytest.approx(20.0)
    assert s.outline == pytest.approx((100 + by_id["b"].outline + 100) / 5)
    assert s.outline_validated == pytest.approx(200 / 5)
    assert (s.missing, s.unparsable, s.refused_rightly) == (1, 1, 1)
    foreach = next(f for f in report.features if f.feature == "logic_foreach")
    assert foreach.samples == 2 and foreach.group == "STRUCTURE"


def test_refusal_rules(references: list[Reference], example: dict) -> None:
    predictions = {
        "a": Prediction(id="a", output={"out_of_scope": True, "reason": "?"}),
        "c": Prediction(id="c", output=example),
    }
    report = evaluate(references, predictions)
    assert (report.summary.refused_wrongly, report.summary.missed_refusals) == (1, 1)
    assert all(s.outline == 0 for s in report.samples)


def test_report_files(references: list[Reference], example: dict, tmp_path: Path) -> None:
    report = evaluate(references, {"a": Prediction(id="a", output=example)})
    paths = write_report(report, tmp_path)
    markdown = (tmp_path / "report.md").read_text()
    assert "## Feature subsets (Table 5)" in markdown and "| logic_foreach | 2 |" in markdown
    matrix = (tmp_path / "matrix.csv").read_text().splitlines()
    assert matrix[0] == "sample_id,trigger_conditional,logic_foreach,out_of_scope,outline,inputs"
    assert matrix[1] == "a,1,1,0,100.0,100.0"
    assert json.loads(paths[0].read_text())["summary"]["samples"] == 5


def test_cost_per_answer_counts_only_answers_that_called_the_model(references: list[Reference], example: dict) -> None:
    def cost(tokens: int, calls: int, total: float) -> Cost:
        return Cost(tokens=tokens, calls=calls, seconds={"time_to_outline": total / 2, "total": total})

    predictions = {
        "a": Prediction(id="a", output=example, cost=cost(100, 4, 10.0)),
        "b": Prediction(id="b", output=example, cost=cost(200, 6, 30.0)),
        "c": Prediction(id="c", output={"out_of_scope": True, "reason": "gate"}, cost=cost(0, 0, 0.1)),
        "e": Prediction(id="e", output=example),  # an older prediction file: no cost recorded
    }
    report = evaluate(references, predictions)
    assert report.cost is not None
    assert (report.cost.answers, report.cost.tokens_mean, report.cost.calls_mean) == (2, 150.0, 5.0)
    assert (report.cost.time_to_outline_median_s, report.cost.total_median_s) == (10.0, 20.0)
    assert evaluate(references, {"a": Prediction(id="a", output=example)}).cost is None
