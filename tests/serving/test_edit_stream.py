"""The streaming edit route in this process (scripted model, fixed retrieval): the script first, then each new
step's inputs, then the result that `:edit` answers; a bad instruction or workflow is a 4xx before any event."""

from __future__ import annotations

import json

import pytest

from flowgen.catalog import Catalog
from flowgen.settings import Settings
from generation.editing.grammar import written
from tests.fakes import Suggestions
from tests.generation.test_edit_stage import INSERT, Scripted
from tests.generation.test_editing import reference
from tests.local_serving import local_api

EMAIL = {"to": "{{step_2.item.caller_id.email}}", "subject": "Resolved", "body": "Your incident is resolved."}


def events(text: str) -> list[tuple[str, dict]]:
    blocks = [b for b in text.split("\n\n") if b.strip()]
    return [
        (b.split("\n")[0].removeprefix("event: "), json.loads(b.split("\n")[1].removeprefix("data: "))) for b in blocks
    ]


def test_an_edit_streams_its_script_then_the_new_steps_inputs_then_the_result(
    monkeypatch: pytest.MonkeyPatch, core: Catalog
) -> None:
    before = reference("test-024").model_dump(mode="json", exclude_none=True)
    body = {"workflow": before, "instruction": "also email each caller", "tenant": "core"}
    engine = Scripted(lambda p, s: written(INSERT, reference("test-024")), lambda p, s: EMAIL)
    with local_api(monkeypatch, Suggestions(core, ["send_email", "log"], ["incident"]), engine, Settings()) as client:
        streamed = client.post("/v1/workflows:editStream", json=body)
        blank = client.post("/v1/workflows:editStream", json={**body, "instruction": "  "})
        broken = {**before, "components": [{**before["components"][0], "name": "teleport"}, *before["components"][1:]]}
        invalid = client.post("/v1/workflows:editStream", json={**body, "workflow": broken})
    assert streamed.status_code == 200, streamed.text
    seen = events(streamed.text)
    assert [kind for kind, _ in seen] == ["script", "step", "done"]
    assert seen[0][1]["changed"] == [5] and seen[1][1] == {"step": 5, "inputs": EMAIL}
    done = seen[-1][1]
    assert done["outcome"] == "edited" and done["report"]["violations"] == []
    assert done["workflow"]["components"][:4] == before["components"][:4]  # untouched steps kept exactly
    assert blank.status_code == 400 and "empty instruction" in blank.json()["message"]
    assert invalid.status_code == 422 and "fix it first" in invalid.json()["message"]
