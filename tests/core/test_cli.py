from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from flowgen.cli import app
from flowgen.settings import EngineSettings
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


def test_core_commands_load_no_upper_layer() -> None:
    """`flowgen validate` and `flowgen --help` import neither an upper layer nor Ray, vLLM, FastAPI or Qdrant."""
    code = (
        "import sys\nfrom flowgen.cli import app\n"
        "for args in (['validate', sys.argv[1]], ['--help']):\n"
        "    try:\n        app(args)\n    except SystemExit as done:\n        assert not done.code, done.code\n"
        "layers = ('flowdata', 'generation', 'retrieval', 'serving', 'training', 'interop')\n"
        "heavy = ('ray', 'vllm', 'fastapi', 'qdrant_client', 'openai', 'torch')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in layers + heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code, EXAMPLE], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]"
    assert "generate" in done.stdout and "serve" in done.stdout  # listed from the registry


def test_bad_settings_and_layer_errors_are_one_clear_exit(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", EXAMPLE], env={"FLOWGEN_ENGINE__RUNTIME": "openai"})
    assert result.exit_code == 2 and "runtime openai needs openai_url" in result.stderr
    result = runner.invoke(app, ["dataset", "stats"], env={"FLOWGEN_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2, result.output
    assert f"no train split in {tmp_path / 'data'}: build it with `flowgen dataset build" in result.stderr


def test_engine_settings_that_go_together() -> None:
    assert EngineSettings(runtime="openai", openai_url="http://host:8000/v1").runtime == "openai"
    with pytest.raises(ValidationError, match="runtime openai needs openai_url"):
        EngineSettings(runtime="openai")
    with pytest.raises(ValidationError, match="are for runtime openai, not transformers"):
        EngineSettings(runtime="transformers", openai_url="http://host:8000/v1")
