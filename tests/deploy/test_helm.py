"""The Helm chart (helm/flowgen): lint, render, and validate every manifest offline.

Kubernetes' own kinds are checked against the API's JSON schemas (kubernetes-validate, strict: an
unknown field is an error); the RayService and the PodMonitor against the openAPIV3Schema of their
vendored CRDs (helm/crds/), made strict the same way. Helm comes from ./dev (.tools/bin/helm).
"""

from __future__ import annotations

import copy
import gzip
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from ray.serve.schema import ServeDeploySchema

from serving.deploy import profile

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "flowgen"
HELM = ROOT / ".tools" / "bin" / "helm"
KUBERNETES = ["1.29.0", kubernetes_validate.latest_version()]  # the oldest and newest the chart aims at
RELEASE = "demo"
CRDS = {
    ("ray.io/v1", "RayService"): "ray.io_rayservices.yaml.gz",
    ("monitoring.coreos.com/v1", "PodMonitor"): "monitoring.coreos.com_podmonitors.yaml.gz",
}
VALUES = {
    "defaults": [],
    "cpu-dev": ["-f", str(CHART / "values-cpu-dev.yaml")],
    "gpu-prod": ["-f", str(CHART / "values-gpu-prod.yaml")],
    # every optional part the others leave out: tokens in values, plain-HTTP ingress, external Qdrant
    "options": ["-f", str(CHART / "values-gpu-prod.yaml"), "--set", "auth.existingSecret=", "--set",
                "auth.tokens.t1=retail", "--set-json",
                'auth.tokens.t2={"name": "prometheus", "tenant": "*", "scopes": ["metrics"]}',
                "--set", "ingress.tlsSecret=", "--set", "qdrant.enabled=false", "--set",
                "qdrant.externalUrl=http://qdrant.search:6333", "--set", "serveEnv.FLOWGEN_ENGINE__MAX_NUM_SEQS=64"],
}  # fmt: skip


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    assert HELM.is_file(), "Helm is installed by ./dev (deploy_tools)"
    return subprocess.run([str(HELM), *args], capture_output=True, text=True, timeout=120)


@cache
def render(case: str) -> list[dict[str, Any]]:
    done = helm("template", RELEASE, str(CHART), "--namespace", "flowgen", *VALUES[case])
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (doc,) = (d for d in docs if d["kind"] == kind)
    return doc


def serve_config(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return yaml.safe_load(one(docs, "RayService")["spec"]["serveConfigV2"])


def strict(schema: Any) -> Any:
    """An openAPIV3Schema that refuses unknown fields, as `kubectl apply` with strict field validation does."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        open_ended = schema.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in schema
        if "properties" in schema and not open_ended:
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [strict(value) for value in schema]
    return schema


@cache
def crd_validator(api_version: str, kind: str) -> jsonschema.Draft7Validator:
    crd = yaml.load(gzip.decompress((ROOT / "helm" / "crds" / CRDS[api_version, kind]).read_bytes()), yaml.CSafeLoader)
    group, version = api_version.split("/")
    assert crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == kind
    (served,) = (v for v in crd["spec"]["versions"] if v["name"] == version)
    return jsonschema.Draft7Validator(strict(served["schema"]["openAPIV3Schema"]))


def problems(doc: dict[str, Any]) -> list[str]:
    key = (doc["apiVersion"], doc["kind"])
    if key in CRDS:
        return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in crd_validator(*key).iter_errors(doc)]
    found = []
    for version in KUBERNETES:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            found.append(f"{version} {'.'.join(map(str, error.path))}: {error.message}")
    return found


@pytest.mark.parametrize("values", ["values.yaml", "values-cpu-dev.yaml", "values-gpu-prod.yaml"])
def test_helm_lint_passes_strict(values: str) -> None:
    done = helm("lint", "--strict", str(CHART), "-f", str(CHART / values))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("case", VALUES)
def test_every_rendered_manifest_validates(case: str) -> None:
    docs = render(case)
    kinds = {d["kind"] for d in docs}
    assert {"RayService", "Service", "PodMonitor"} <= kinds
    for doc in docs:
        assert problems(doc) == [], f"{doc['kind']} {doc['metadata']['name']}"


def test_validation_catches_a_misspelt_field() -> None:
    """The validators are strict: a typo in a RayService or a StatefulSet is an error, not a pruned field."""
    service = copy.deepcopy(one(render("gpu-prod"), "RayService"))
    service["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["minReplica"] = 1
    assert any("minReplica" in p for p in problems(service))
    qdrant = copy.deepcopy(one(render("gpu-prod"), "StatefulSet"))
    qdrant["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    assert any("resource" in p for p in problems(qdrant))


@pytest.mark.parametrize(("case", "name"), [("defaults", "cpu-dev"), ("cpu-dev", "cpu-dev"), ("gpu-prod", "gpu-prod")])
def test_serve_config_is_the_profile_with_the_release_wiring(case: str, name: str) -> None:
    config = serve_config(render(case))
    ServeDeploySchema.model_validate(config)
    expected = profile(name).config()
    expected["applications"][0]["runtime_env"]["env_vars"]["FLOWGEN_RETRIEVAL__QDRANT_URL"] = (
        f"http://{RELEASE}-flowgen-qdrant:6333"
    )
    assert config == expected


def test_options_reach_the_manifests() -> None:
    docs = render("options")
    env = serve_config(docs)["applications"][0]["runtime_env"]["env_vars"]
    assert env["FLOWGEN_RETRIEVAL__QDRANT_URL"] == "http://qdrant.search:6333"
    assert env["FLOWGEN_ENGINE__MAX_NUM_SEQS"] == "64"
    assert "StatefulSet" not in {d["kind"] for d in docs}
    secret = one(docs, "Secret")
    assert yaml.safe_load(secret["stringData"]["tokens"]) == {
        "t1": "retail",
        "t2": {"name": "prometheus", "tenant": "*", "scopes": ["metrics"]},
    }
    cluster = one(docs, "RayService")["spec"]["rayClusterConfig"]
    pods = [cluster["headGroupSpec"]["template"], *(g["template"] for g in cluster["workerGroupSpecs"])]
    for pod in pods:  # every Ray node reads the tokens from the Secret, never from the Serve config
        (container,) = pod["spec"]["containers"]
        (tokens,) = container["env"]
        assert tokens["valueFrom"]["secretKeyRef"] == {"name": secret["metadata"]["name"], "key": "tokens"}
    assert "TOKENS" not in str(env)


def test_gpu_nodes_take_only_the_engine_and_cpu_nodes_hold_the_rest() -> None:
    docs = render("gpu-prod")
    groups = {g["groupName"]: g for g in one(docs, "RayService")["spec"]["rayClusterConfig"]["workerGroupSpecs"]}
    deployments = {d["name"]: d for d in serve_config(docs)["applications"][0]["deployments"]}
    llm = deployments["llm"]["ray_actor_options"]
    gpu = groups["gpu"]
    assert float(gpu["rayStartParams"]["num-gpus"]) == llm["num_gpus"]
    assert float(gpu["rayStartParams"]["num-cpus"]) == llm["num_cpus"]  # no CPU left there for anything else
    assert gpu["maxReplicas"] >= deployments["llm"]["autoscaling_config"]["max_replicas"]
    (container,) = gpu["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    cpu = groups["cpu"]
    need = sum(d["autoscaling_config"]["max_replicas"] * d["ray_actor_options"]["num_cpus"]
               for name, d in deployments.items() if name != "llm")  # fmt: skip
    assert cpu["maxReplicas"] * float(cpu["rayStartParams"]["num-cpus"]) >= need


def test_pod_monitor_scrapes_every_ray_node_and_the_service_reaches_serve() -> None:
    docs = render("gpu-prod")
    cluster = one(docs, "RayService")["spec"]["rayClusterConfig"]
    monitor = one(docs, "PodMonitor")["spec"]
    (endpoint,) = monitor["podMetricsEndpoints"]
    for group in [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]:
        pod = group["template"]
        assert monitor["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        ports = {p["name"]: p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
        assert ports[endpoint["port"]] == int(group["rayStartParams"]["metrics-export-port"])
        assert ports["serve"] == serve_config(docs)["http_options"]["port"]
    service = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == f"{RELEASE}-flowgen")
    assert service["spec"]["ports"][0]["targetPort"] == "serve"
    qdrant = one(docs, "StatefulSet")
    assert not monitor["selector"]["matchLabels"].items() <= qdrant["spec"]["template"]["metadata"]["labels"].items()
    ingress = one(docs, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert ingress["name"] == service["metadata"]["name"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--set", "image.pulPolicy=Always"], "pulPolicy"),
        (["--set", "serveProfile=tpu"], "serveProfile"),
        (["--set", "serveEnv.ENGINE__MODEL=x"], "ENGINE__MODEL"),
        (["--set", "qdrant.enabled=false"], "qdrant.externalUrl is required"),
        (["--set", "auth.tokens.t1=../retail"], "/auth/tokens/t1"),
        (["--set-json", 'auth.tokens.t1={"name": "x", "tenant": "retail", "scopes": ["root"]}'], "/auth/tokens/t1"),
    ],
)
def test_values_are_checked(flags: list[str], message: str) -> None:
    done = helm("template", RELEASE, str(CHART), *flags)
    assert done.returncode != 0 and message in done.stderr, done.stderr


KEY = re.compile(r"^(?P<indent> *)(?P<key>[\w./-]+):")


def undocumented(text: str) -> list[str]:
    """Keys with no comment line right above them nor above any of their parents."""
    missing, parents = [], []  # parents: (indent, documented)
    previous = ""
    for line in text.splitlines():
        match = KEY.match(line)
        if match:
            indent = len(match["indent"])
            parents = [p for p in parents if p[0] < indent]
            documented = previous.lstrip().startswith("#") or any(doc for _, doc in parents)
            parents.append((indent, documented))
            leaf = not line.rstrip().endswith(":")
            if leaf and not documented:
                missing.append(match["key"])
        if line.strip():
            previous = line
    return missing


@pytest.mark.parametrize("values", ["values.yaml", "values-cpu-dev.yaml", "values-gpu-prod.yaml"])
def test_every_value_is_documented(values: str) -> None:
    assert undocumented((CHART / values).read_text()) == []
    assert undocumented("a:\n  # b\n  b: 1\n  c: 2\n") == ["c"]  # the check itself
