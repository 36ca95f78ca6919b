"""Export to ServiceNow's Fluent: names and values translated as mapping.json says, pills as SDK outputs, lines
traced back to steps and inputs, declarations for custom actions and missing tables, clear refusals naming the
step; the CLI and the API route give the same project."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from flowgen.catalog import Catalog, load_catalog
from flowgen.cli import app
from flowgen.errors import FlowGenError
from flowgen.workflow import Workflow, parse_workflow
from interop.servicenow.fluent import ExportError, Origin
from interop.servicenow.project import Project, export_project
from serving.auth import Access
from serving.export_api import host, router
from serving.ingress import _error as ingress_errors
from tests.conftest import FIXTURES


def export(workflow: dict, catalog: Catalog) -> tuple[str, Project]:
    project = export_project({"flow": parse_workflow(workflow)}, catalog)
    return project.files["src/fluent/flow.now.ts"], project


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_paper_example_becomes_a_flow_of_servicenows_names(example: dict, core: Catalog) -> None:
    code, project = export(example, core)
    assert "wfa.trigger(trigger.record.updated," in code
    assert "const step_1 = wfa.action(action.core.lookUpRecords," in code
    assert 'conditions: `assigned_to=${wfa.dataPill(params.trigger.current, "reference")}`' in code
    assert 'wfa.flowLogic.forEach(wfa.dataPill(step_1.Records, "records"),' in code
    assert "(step_2) => {" in code and 'record: wfa.dataPill(step_2, "reference"),' in code
    assert 'table_name: "incident",' in code  # our `table` is Update Record's `table_name`
    assert 'values: `assigned_to=${wfa.dataPill(params.trigger.current.manager, "reference")}`' in code
    origins = project.origins["src/fluent/flow.now.ts"]
    assert origins[line_of(code, 'table_name: "incident"')] == Origin(3, "table")
    assert origins[line_of(code, "condition:")] == Origin(None, "condition")
    config = json.loads(project.files["now.config.json"])
    assert config["scope"].startswith("x_flowgen") and len(config["scopeId"]) == 32
    declared = project.files["@types/servicenow/fluent/global/data/table/incident_task.d.now.ts"]  # not in the SDK
    assert 'incident: ReferenceColumn({ label: "Incident", referenceTable: "incident" })' in declared
    assert (
        "incident_task: Table<TableSchemas.incident_task, 'task'>"
        in project.files["@types/servicenow/fluent/tables.d.ts"]
    )


def trigger(kind: str, **inputs: str) -> dict:
    return {"annotation": "t", "type": kind, "inputs": [{"name": k, "value": v} for k, v in inputs.items()]}


def step(number: int, name: str, parent: int | None = None, **inputs: str) -> dict:
    out = {"annotation": f"s{number}", "name": name, "step": number,
           "inputs": [{"name": k, "value": v} for k, v in inputs.items()]}  # fmt: skip
    return out | ({"parent": parent} if parent else {})


def test_known_mismatches_are_translated(core: Catalog) -> None:
    code, _ = export({"trigger": trigger("record_update", table="incident", condition="priority=1",
                                         run_trigger="always"), "components": []}, core)  # fmt: skip
    assert 'trigger_strategy: "every",' in code  # our "always" (every update) is ServiceNow's "every"
    code, _ = export({"trigger": trigger("scheduled_weekly", day_of_week="monday", time="09:30"),
                      "components": []}, core)  # fmt: skip
    assert "day_of_week: 1," in code and "time: Time({ hours: 9, minutes: 30, seconds: 0 })," in code
    code, _ = export({"trigger": trigger("sla_task", sla_definition="P1"), "components": [
        step(1, "look_up_record", table="incident", conditions="active=true"),
        step(2, "if", condition="{{step_1.found}}=true"),
        step(3, "add_work_note", 2, record="{{sla_task.task}}", table="task", work_note="SLA {{sla_task.task.number}}"),
    ]}, core)  # fmt: skip
    assert 'condition: `${wfa.dataPill(step_1.Record, "reference")}ISNOTEMPTY`' in code
    assert 'values: `work_notes=SLA ${wfa.dataPill(params.trigger.task_sla_record.task.number, "string")}`' in code
    assert "sla_definition" not in code  # ServiceNow's SLA definition names its flow (mapping: drop)


def test_a_workflow_without_trigger_is_a_subflow_and_custom_actions_are_declared(core: Catalog) -> None:
    code, project = export({"trigger": None, "components": [
        step(1, "post_slack_message", channel="#ops", message="hello"),
        step(2, "wait_for_duration", duration="1 02:00:00"),
    ]}, core)  # fmt: skip
    assert code.startswith("import { Subflow, wfa } from '@servicenow/sdk/automation'")
    assert 'Subflow({ $id: Now.ID["flow"]' in code and "wfa.action(post_slack_message," in code
    assert "duration: Duration({ days: 1, hours: 2 })" in code
    actions = project.files["src/fluent/actions.now.ts"]
    assert "export const post_slack_message = Action({" in actions
    assert 'channel: StringColumn({ label: "channel", mandatory: true })' in actions


@pytest.mark.parametrize(
    ("components", "message"),
    [
        ([step(1, "do_until", condition="active=false"), step(2, "log", 1, message="x")], "step 1: 'do_until'"),
        ([step(1, "try"), step(2, "log", 1, message="x"), step(3, "catch"),
          step(4, "log", 3, message="{{step_3.error_message}}")], "step 4: input 'message'"),
        ([step(1, "create_or_update_record", table="incident", field_values="state=2", conditions="active=true")],
         "step 1: input 'conditions'"),
        ([step(1, "look_up_record", table="sys_user", conditions="active=false"),
          step(2, "send_email", to="a@example.com", subject="s", body="User {{step_1.record.name}} is inactive")],
         "step 2: input 'body' takes no data pills on ServiceNow .*TS228"),
    ],
)  # fmt: skip
def test_what_servicenow_cannot_express_is_refused_naming_the_step(core: Catalog, components: list,
                                                                  message: str) -> None:  # fmt: skip
    with pytest.raises(ExportError, match=message):
        export({"trigger": None, "components": components}, core)


def test_a_static_email_body_still_exports(core: Catalog) -> None:
    code, _ = export({"trigger": None, "components": [step(1, "send_email", to="a@example.com", subject="s",
                                                        body="A user became inactive.")]}, core)  # fmt: skip
    assert 'ah_body: "A user became inactive."' in code


def test_the_cli_writes_the_project(tmp_path: Path) -> None:
    out = tmp_path / "fluent"
    result = CliRunner().invoke(app, ["export", "servicenow", str(FIXTURES / "inactive-user-incidents.json"),
                                      "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "action.core.updateRecord" in (out / "src/fluent/inactive_user_incidents.now.ts").read_text()
    assert (out / "now.config.json").is_file() and (out / "package.json").is_file()


def test_the_api_route_returns_the_same_project(example: dict, core: Catalog) -> None:
    async def catalog(tenant: str) -> Catalog:
        return load_catalog(tenant)

    api = FastAPI()
    api.include_router(router)
    api.add_exception_handler(FlowGenError, ingress_errors)  # as the ingress answers them
    api.dependency_overrides[host] = lambda: SimpleNamespace(access=Access({}),
                                                             suggester=SimpleNamespace(catalog=catalog))  # fmt: skip
    with TestClient(api) as client:
        answer = client.post("/v1/exports/servicenow", json={"workflow": example, "name": "flow"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["files"] == export(example, core)[1].files
        wrong = example | {"components": [step(1, "do_until", condition="x=1"), step(2, "log", 1, message="m")]}
        assert client.post("/v1/exports/servicenow", json={"workflow": wrong}).status_code == 422


def test_workflow_round_trip_is_untouched(example: dict, core: Catalog) -> None:
    workflow = parse_workflow(example)
    before = workflow.to_json()
    export_project({"flow": workflow}, core)
    assert isinstance(workflow, Workflow) and workflow.to_json() == before
