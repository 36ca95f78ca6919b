"""The authoring page (serving/static, at `/`) in headless Chromium against the running application (conftest's
`url`, shared with tests/serving/test_serving.py), and the pinned names it sends reaching the pipeline's suggestions.

Screenshots of each state go to out/page/ (the test run's folder, not committed).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowgen.catalog import Catalog
from flowgen.errors import ClientError
from flowgen.validation import validate
from flowgen.workflow import Workflow
from generation.engines import GenerationFailed
from generation.pipeline import Pipeline
from serving.schemas import Pinned
from tests.conftest import FIXTURES, PAPER
from tests.fakes import Suggestions

SHOTS = Path(__file__).parents[2] / "out" / "page"
CHROMIUM = "/usr/bin/chromium"
# As root, on a machine without a network: no sandbox, no GPU, no calls home.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
ADMIN = {"Authorization": "Bearer admin-token"}


# ---- the pinned names reach the suggestions (in process) -------------------------------------
class OutlineOnly:
    """Records the outline call's schema, then fails it (nothing after the outline matters here)."""

    schema: dict[str, Any]

    async def complete(self, prompt: str, schema: dict[str, Any], max_tokens: int, min_tokens: int = 0) -> None:
        self.schema = schema
        raise GenerationFailed("outline recorded")


def enums(node: Any) -> list[list[Any]]:
    if isinstance(node, dict):
        return ([node["enum"]] if "enum" in node else []) + [e for v in node.values() for e in enums(v)]
    return [e for v in node for e in enums(v)] if isinstance(node, list) else []


def test_pinned_tables_come_first_and_pinned_steps_are_offered(core: Catalog) -> None:
    engine = OutlineOnly()
    suggestions = Suggestions(core, ["record_update", "look_up_records", "update_record"], ["sys_user", "incident"])
    pipeline = Pipeline(engine, suggestions)  # type: ignore[arg-type]
    with pytest.raises(GenerationFailed):
        asyncio.run(pipeline.run(PAPER, "core", perfect_steps=["send_email"], pinned_tables=["problem", "incident"]))
    offered = enums(engine.schema)
    assert ["problem", "incident", "sys_user"] in offered  # the tables: pinned first, no duplicate
    assert any("send_email" in e for e in offered) and any("update_record" in e for e in offered)


def test_pinned_names_must_be_in_the_tenant_catalog(core: Catalog) -> None:
    Pinned(tables=["incident"], steps=["send_email", "record_update"]).check(core)
    with pytest.raises(ClientError, match="pinned names not in tenant 'core'.*'u_nowhere', 'teleport'"):
        Pinned(tables=["incident", "u_nowhere"], steps=["teleport"]).check(core)


# ---- the page in headless Chromium -----------------------------------------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: ./dev test installs Debian's chromium")
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, url: str) -> Iterator[Any]:
    """The page with the admin token entered and the core catalog loaded."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page = context.new_page()
    uncaught: list[str] = []  # the page's own JavaScript errors: a test that fails says what broke
    page.on("pageerror", lambda error: uncaught.append(str(error)))
    page.goto(url)
    page.wait_for_selector("#status[data-state=error]")  # tokens are on: without one, nothing is visible
    assert "bearer token" in page.text_content("#status")
    page.fill("#token", "admin-token")
    page.dispatch_event("#token", "change")
    page.wait_for_selector("#status[data-state=idle]")
    assert "core" in page.eval_on_selector_all("#tenant option", "options => options.map(o => o.value)")
    yield page
    context.close()
    assert uncaught == []


def shot(page: Any, name: str) -> None:
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def engine_stats(url: str) -> dict[str, int]:
    """The engine's running and cancelled request counts, as /readyz reports them."""
    return httpx.get(f"{url}/readyz", timeout=30).json()["engine"]


# Records, at every change of the tree, how many step cards and input values it shows, and every state the page
# passes through (a state may last less than a poll: observed, not polled).
WATCH = """() => {
  window.seen = [];
  window.states = [];
  const tree = document.querySelector('#tree');
  new MutationObserver(() => window.seen.push(
    [tree.querySelectorAll('.card').length, tree.querySelectorAll('.inputs dd').length]
  )).observe(tree, {childList: true, subtree: true});
  const status = document.querySelector('#status');
  new MutationObserver(() => window.states.push(status.dataset.state))
    .observe(status, {attributes: true, attributeFilter: ['data-state']});
}"""


@pytest.mark.slow
def test_paper_example_streams_the_outline_then_the_inputs_to_a_valid_workflow(
    page: Any, url: str, core: Catalog
) -> None:
    page.fill("#requirement", PAPER)
    shot(page, "1-idle")
    page.evaluate(WATCH)
    page.click("#generate")
    page.wait_for_selector("#status:is([data-state=waiting], [data-state=streaming], [data-state=done])")
    shot(page, "2-waiting")
    page.wait_for_selector("#status:is([data-state=streaming], [data-state=done])", timeout=240_000)
    shot(page, "3-streaming")  # the outline drawn (or already done: a screenshot may outlast the stream)
    page.wait_for_selector("#status[data-state=done]", timeout=240_000)
    shot(page, "4-done")

    recorded = page.evaluate("window.states")
    states = [s for i, s in enumerate(recorded) if i == 0 or s != recorded[i - 1]]
    assert states == ["waiting", "streaming", "done"], recorded
    assert page.is_visible("#followup")  # a generated workflow can be changed by a follow-up
    seen = page.evaluate("window.seen")
    first = next(values for cards, values in seen if cards)
    assert first == 0 and seen[-1][1] > 0, seen  # the outline's cards came before any input value
    assert "a valid workflow" in page.text_content("#status")
    assert page.text_content("#report") == "Valid: no violations."
    cost = dict(zip(page.eval_on_selector_all("#cost dt", "n => n.map(e => e.textContent)"),
                    page.eval_on_selector_all("#cost dd", "n => n.map(e => e.textContent)"), strict=True))  # fmt: skip
    assert {"retrieve", "outline", "inputs", "total", "tokens", "model calls"} <= set(cost)
    assert int(cost["tokens"]) > 0 and int(cost["model calls"]) >= 2

    answer = json.loads(page.text_content("#json"))
    workflow = Workflow.model_validate(answer)
    assert validate(workflow, core).violations == []
    numbers = [0] * (workflow.trigger is not None) + [s.step for s in workflow.components]
    cards = page.eval_on_selector_all("#tree .card", "n => n.map(e => [Number(e.dataset.step), e.dataset.mark])")
    assert cards == [[n, "done"] for n in numbers]
    parent = "e => e.closest('li').parentElement.closest('li')?.querySelector('.card').dataset.step ?? null"
    for step in workflow.components:  # nested as the workflow says
        assert page.eval_on_selector(f"#step-{step.step}", parent) == (step.parent and str(step.parent))

    # each step's part of the requirement is highlighted; hovering one lights up the other
    marks = page.eval_on_selector_all("#highlight mark", "n => n.map(e => [e.textContent, e.dataset.steps])")
    assert marks and all(text.strip() for text, _ in marks)
    step = marks[0][1].split()[0]
    page.hover(f"#step-{step}")
    assert page.locator("#highlight mark.linked").count() > 0
    page.hover("#highlight mark >> nth=0")
    assert page.locator(f"#step-{step}.linked").count() == 1
    # data pills link to the step they come from
    for target in page.eval_on_selector_all("#tree a.pill", "n => n.map(e => e.dataset.step)"):
        assert page.locator(f"#step-{target}").count() == 1

    page.click("#copy")
    assert json.loads(page.evaluate("navigator.clipboard.readText()")) == answer
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename == "workflow.json"
    assert json.loads(Path(download.value.path()).read_text()) == answer


@pytest.mark.xfail(
    reason="flaky since the engine got faster (2026-12-07): stage 2 often ends before the test sees a running "
    "request, so Stop has nothing left to cancel; it passed in CI (the proxy logged the disconnect 0.18 s into stage "
    "2) and failed here. Not yet made deterministic (issue 12's note)",
    strict=False,
)
@pytest.mark.slow
def test_a_pinned_table_is_sent_and_stop_cancels_the_generation_on_the_server(page: Any, url: str) -> None:
    box = page.locator("#requirement")
    box.click()
    box.press_sequentially("Every time a user becomes inactive, find all #inci")
    page.wait_for_selector("#complete li")
    assert page.text_content("#complete li[aria-selected=true] code") == "#incident"
    box.press("Enter")
    box.press_sequentially("where the user is the assignee and @update_rec")
    page.wait_for_selector("#complete li")
    box.press("Tab")
    box.press_sequentially("them to their manager.")
    text = box.input_value()
    assert "#incident where" in text and "@update_record them" in text
    assert page.eval_on_selector_all("#pins .chip", "n => n.map(e => e.textContent)") == ["#incident", "@update_record"]
    shot(page, "5-pinned")

    before = engine_stats(url)["cancelled"]
    with page.expect_request(lambda r: r.url.endswith("/v1/workflows:stream")) as sent:
        page.click("#generate")
    body = sent.value.post_data_json
    assert body["pinned"] == {"tables": ["incident"], "steps": ["update_record"]}
    assert "find all incident where" in body["requirement"] and "#" not in body["requirement"]

    page.wait_for_selector("#status[data-state=streaming]", timeout=240_000)  # the outline is drawn
    deadline = time.monotonic() + 30
    while not engine_stats(url)["running"] and time.monotonic() < deadline:  # stage 2 is generating
        time.sleep(0.05)
    assert page.get_attribute("#status", "data-state") == "streaming"
    page.click("#stop")
    page.wait_for_selector("#status[data-state=stopped]")
    shot(page, "6-stopped")
    marks = page.eval_on_selector_all("#tree .card", "n => n.map(e => e.dataset.mark)")
    assert "waiting" in marks and "working" not in marks, marks
    deadline = time.monotonic() + 10
    while ((stats := engine_stats(url))["running"] or stats["cancelled"] == before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stats["cancelled"] > before and stats["running"] == 0, stats
    assert page.is_enabled("#generate") and not page.is_enabled("#stop")


@pytest.mark.slow
def test_a_blank_requirement_shows_the_servers_message(page: Any) -> None:
    page.fill("#requirement", "   ")
    page.click("#generate")
    page.wait_for_selector("#status[data-state=error]")
    shot(page, "7-error")
    assert page.text_content("#status") == "Error: empty requirement: describe the workflow you want"
    assert not page.is_visible("#followup")  # nothing to change
    assert page.locator("#tree .card").count() == 0


def _sse(*events: tuple[str, dict]) -> str:
    return "".join(f"event: {kind}\ndata: {json.dumps(data)}\n\n" for kind, data in events)


@pytest.mark.slow
def test_a_follow_up_changes_the_shown_workflow_and_undo_restores_it(page: Any) -> None:
    """The page's side of an edit, with the server's answers given (the route is tested in
    tests/serving/test_edit_stream.py): what is sent, the changed step marked, Undo."""
    workflow = json.loads((FIXTURES / "inactive-user-incidents.json").read_text())
    log = {"annotation": "log each one", "name": "log", "step": 4, "parent": 2,
           "inputs": [{"name": "message", "value": "reassigned {{step_2.item.number}}"}]}  # fmt: skip
    edited = {**workflow, "components": [*workflow["components"], log]}
    cost = {"timings": {"retrieve": 0.1, "total": 1.0}, "tokens": 9, "calls": 2, "failures": [],
            "report": {"ok": True, "violations": []}}  # fmt: skip
    outline = {"trigger": workflow["trigger"], "components": workflow["components"]}
    page.route(
        "**/v1/workflows:stream",
        lambda route: route.fulfill(
            content_type="text/event-stream", body=_sse(("outline", outline), ("done", {"answer": workflow, **cost}))
        ),
    )
    sent: list[dict] = []

    def edit(route: Any) -> None:
        sent.append(route.request.post_data_json)
        script = {"ops": [{"op": "insert_into", "step": 2, "steps": [{"do": "log", "a": "log each one"}]}]}
        route.fulfill(content_type="text/event-stream", body=_sse(
            ("script", {"script": script, "changed": [4]}),
            ("done", {"outcome": "edited", "workflow": edited, "script": script, "diff": ["+ 4 log"],
                      "changed": [4], **cost})))  # fmt: skip

    page.route("**/v1/workflows:editStream", edit)
    page.fill("#requirement", PAPER)
    page.click("#generate")
    page.wait_for_selector("#status[data-state=done]")
    assert page.is_visible("#followup") and not page.is_enabled("#undo")
    page.fill("#instruction", "also log each one")
    page.click("#apply")
    page.wait_for_selector("#status[data-state=done] >> text=Edited")
    shot(page, "8-edited")
    assert sent == [{"workflow": workflow, "instruction": "also log each one", "tenant": "core"}]
    assert page.eval_on_selector_all("#tree .card.changed", "n => n.map(e => e.dataset.step)") == ["4"]
    assert json.loads(page.text_content("#json")) == edited
    assert page.text_content("#diff") == "+ 4 log"
    page.click("#undo")
    assert json.loads(page.text_content("#json")) == workflow
    assert page.locator("#tree .card.changed").count() == 0 and page.locator("#step-4").count() == 0
    assert not page.is_enabled("#undo") and page.text_content("#status").startswith("Undone")
