from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from flowgen.cli import app
from tests.conftest import FIXTURES

runner = CliRunner()
EXAMPLE = str(FIXTURES / "inactive-user-incidents.json")


def test_validate_clean_and_broken(example: dict, tmp_path: Path) -> None:
    assert runner.invoke(app, ["validate", EXAMPLE]).exit_code == 0
    example["components"][0]["name"] = "look_up_everything"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(example))
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "C001 step 1: unknown step 'look_up_everything'" in result.stdout


def test_validate_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2 and "not valid JSON" in result.stderr
    result = runner.invoke(app, ["validate", EXAMPLE, "--tenant", "atlantis"])
    assert result.exit_code == 2 and "unknown tenant 'atlantis'" in result.stderr


def test_flowsim_prints_both_scores() -> None:
    result = runner.invoke(app, ["flowsim", EXAMPLE, EXAMPLE])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["outline\t100.00", "outline+inputs\t100.00"]


def test_eval_writes_report(example: dict, tmp_path: Path) -> None:
    refs = tmp_path / "refs.jsonl"
    refs.write_text(
        json.dumps({"id": "x", "requirement": "r", "expected": example, "features": ["logic_foreach"]}) + "\n"
    )
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"id": "x", "output": example}) + "\n")
    result = runner.invoke(
        app, ["eval", "--predictions", str(preds), "--references", str(refs), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    assert "outline 100.0" in result.stdout and (tmp_path / "o" / "report.md").is_file()


def test_schema_is_json() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0 and "components" in json.loads(result.stdout)["$defs"]["Workflow"]["properties"]
