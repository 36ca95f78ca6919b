"""ServiceNow's own build (the pinned SDK, offline) as an external check, in one build: the paper's example builds
clean; a workflow with an input name the platform lacks is caught by our validator and by the SDK, each naming
the step (the SDK sees it through a mapping that passes the name on, as an exporter without our check would)."""

from __future__ import annotations

import copy

import pytest

from flowgen.catalog import Catalog
from flowgen.validation import validate
from flowgen.workflow import parse_workflow
from interop.servicenow.build import build, parse_output
from interop.servicenow.fluent import ExportError, Origin
from interop.servicenow.mapping import Mapping, load_mapping
from interop.servicenow.project import Project, export_project


def passing_on(name: str) -> Mapping:
    """The mapping, with look_up_records taking `name` as it is."""
    data = load_mapping().model_dump()
    data["actions"]["look_up_records"]["inputs"][name] = {"to": name}
    return Mapping.model_validate(data)


def test_paper_example_builds_clean_and_a_wrong_input_name_is_caught_twice(example: dict, core: Catalog) -> None:
    wrong = copy.deepcopy(example)
    wrong["components"][0]["inputs"][1]["name"] = "conditon"
    paper, misspelt = parse_workflow(example), parse_workflow(wrong)
    # Our validator and our exporter name step 1 and the input.
    assert [(v.code, v.step) for v in validate(misspelt, core).violations] == [("C002", 1)]
    with pytest.raises(ExportError, match="step 1: input 'conditon'"):
        export_project({"wrong": misspelt}, core)
    # ServiceNow's build: nothing on the paper's example, the wrong one traced back to its step 1.
    diagnostics = build(export_project({"paper": paper, "wrong": misspelt}, core, mapping=passing_on("conditon")))
    assert diagnostics, "the SDK accepted an input that Look Up Records does not have"
    assert {d.workflow for d in diagnostics} == {"wrong"}, [str(d) for d in diagnostics]
    assert {d.step for d in diagnostics} == {1}
    assert any("conditon" in d.message or d.code == "TS2769" for d in diagnostics)


def test_diagnostics_are_traced_to_the_line_they_were_written_for() -> None:
    lines = {3: Origin(None, "table"), 7: Origin(2), 9: Origin(2, "values")}
    project = Project(workflows={"flow": "src/fluent/flow.now.ts"}, origins={"src/fluent/flow.now.ts": lines})
    output = (
        "[now-sdk] ERROR: \x1b[96msrc/fluent/flow.now.ts\x1b[0m:\x1b[93m8\x1b[0m:\x1b[93m6\x1b[0m - "
        "\x1b[91merror\x1b[0m\x1b[90m TS228: \x1b[0mDatapills are not allowed in the ah_body field.\n\n"
        " 8     ah_body: `x`\n        ~~~~~~~\n"
        "[now-sdk] ERROR:  9         values: `x`\n"
        "[now-sdk] ERROR: src/fluent/flow.now.ts:9:1 - error TS2769: No overload matches this call.\n"
        "  Overload 1 of 2 gave the following error.\n"
        "[now-sdk] ERROR: Found 2 diagnostic error(s) while building the project.\n"
    )
    first, second = parse_output(output, project)
    assert (first.workflow, first.step, first.input, first.code) == ("flow", 2, None, "TS228")
    assert first.message == "Datapills are not allowed in the ah_body field."
    assert (second.step, second.input) == (2, "values") and "Overload 1 of 2" in second.message
