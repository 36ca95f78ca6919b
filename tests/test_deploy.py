"""The Serve config files in deploy/ are valid for Ray's own `serve run` / `serve deploy`."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel
from ray.serve.schema import ServeDeploySchema

from flowgen.settings import Settings

DEPLOY = Path(__file__).parent.parent / "deploy"


@pytest.mark.parametrize("name", ["cpu.yaml", "gpu.yaml"])
def test_serve_config_is_valid_and_names_our_deployments(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = ServeDeploySchema.model_validate(yaml.safe_load((DEPLOY / name).read_text()))
    (app,) = config.applications
    module, builder = app.import_path.split(":")
    assert callable(getattr(importlib.import_module(module), builder))
    assert {d.name for d in app.deployments} == {"ingress", "retriever", "llm"}
    for key, value in app.runtime_env["env_vars"].items():
        model: type[BaseModel] = Settings
        *parents, field = key.removeprefix("FLOWGEN_").lower().split("__")
        for parent in parents:
            model = model.model_fields[parent].annotation  # type: ignore[assignment]
        assert field in model.model_fields, f"{key} is not a setting"  # a typo would be silently ignored
        monkeypatch.setenv(key, value)
    Settings()  # and every value parses
