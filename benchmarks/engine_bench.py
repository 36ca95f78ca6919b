"""The served engine's speed per weights dtype, CPU binding and edit adapter, side by side in one run.

    python benchmarks/engine_bench.py [--configs float32:auto bfloat16:auto bfloat16:all bfloat16:all:edit]

Each config (`dtype:cpu_threads`, the engine settings of the same names, and `:edit` to serve the shipped edit
adapter as well, which turns on vLLM's LoRA path) starts the served model (the shipped adapter merged into Gemma 3
270M) in a process of its own, one after the other, and times one answer at a time, as a user waits for it: the
outlines of six requirements under their stage-1 grammar (greedy, so every config decodes the same answer unless
its numerics differ), then the stage-2 calls of a 6-step workflow submitted at once, then three edit scripts of the
paper's workflow by the engine's editor (the edit adapter where served). Reported per config: median seconds per
outline, milliseconds per decoded token, the stage-2 batch, median seconds per edit script, and the ratio of
outline time to the first config's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from generation_bench import REQUIREMENT, stage2_calls  # type: ignore[import-not-found]  # sibling script

from flowgen.catalog import load_catalog
from flowgen.settings import Settings
from flowgen.workflow import parse_workflow
from generation.editing.grammar import edit_schema
from generation.editing.view import edit_prompt
from generation.engines.vllm import VLLMEngine
from generation.model import edit_adapter, served_model
from generation.outline import outline_schema
from generation.prompts import outline_prompt

REQUIREMENTS = [
    REQUIREMENT,
    "When an incident gets resolved, lookup its incident tasks and close them.",
    "every monday 8am email servicedesk-leads@acme.com the number of open p1 incidents",
    "p1 incidents -> slack #oncall-mgrs asap",
    "When a change request is approved, create a change task for the implementation team and notify the requester",
    "If a problem stays unassigned for 3 days, assign it to the problem manager and add a work note",
]
TRIGGERS = ["record_update", "record_create", "scheduled_weekly", "scheduled_daily"]
ACTIONS = ["look_up_records", "update_record", "send_email", "post_slack_message", "log", "create_record",
           "add_work_note", "create_catalog_task"]  # fmt: skip
TABLES = ["incident", "incident_task", "sys_user", "change_request", "change_task", "problem"]
PAPER_WORKFLOW = Path(__file__).parents[1] / "tests" / "fixtures" / "inactive-user-incidents.json"
WORKFLOW = parse_workflow(PAPER_WORKFLOW.read_text())
EDITS = ["also email the manager that the incidents are theirs now", "only for active incidents",
         "add a work note to each one saying it was reassigned"]  # fmt: skip


async def measure(engine: VLLMEngine) -> dict[str, float]:
    core = load_catalog("core")
    await engine.complete("warm up", None, 8)
    seconds, tokens = [], 0
    for requirement in REQUIREMENTS:
        prompt = outline_prompt("tuned", requirement, core, TRIGGERS, ACTIONS, TABLES)
        schema = outline_schema(core, requirement, TRIGGERS, ACTIONS, TABLES, numbered=True)
        start = time.perf_counter()
        answer = await engine.complete(prompt, schema, 256)
        seconds.append(time.perf_counter() - start)
        tokens += answer.tokens
    calls = stage2_calls()
    start = time.perf_counter()
    await asyncio.gather(*(engine.complete(p, s, 200) for p, s in calls))
    batch = time.perf_counter() - start
    edits = []
    for instruction in EDITS:
        prompt = edit_prompt(WORKFLOW, core, instruction, ACTIONS, TABLES)
        schema = edit_schema(WORKFLOW, core, instruction, ACTIONS, TABLES)
        start = time.perf_counter()
        await engine.editor.complete(prompt, schema, 256)
        edits.append(time.perf_counter() - start)
    return {"outline_s": statistics.median(seconds), "ms_per_token": 1000 * sum(seconds) / tokens,
            "stage2_s": batch, "calls": len(calls), "edit_s": statistics.median(edits)}  # fmt: skip


def one(dtype: str, threads: str, edit: str = "") -> None:
    """Measure one config in this process and print its JSON line (the parent starts one process per config)."""
    settings = Settings()
    engine_settings = settings.engine.model_copy(update={"dtype": dtype, "cpu_threads": threads})
    model, lora = served_model(settings)
    engine = VLLMEngine(engine_settings, model, lora, edit_lora=edit_adapter(settings) if edit else None)
    try:
        print(json.dumps(asyncio.run(measure(engine))), flush=True)
    finally:
        engine.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["float32:auto", "bfloat16:auto", "bfloat16:all"],
                        help="dtype:cpu_threads[:edit], measured in this order.")  # fmt: skip
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one config in this process
    args = parser.parse_args()
    if args.one:
        one(*args.one.split(":", 2))
        return
    rows = []
    for config in args.configs:
        print(f"starting the engine with {config} ...", file=sys.stderr, flush=True)
        done = subprocess.run([sys.executable, __file__, "--one", config], capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{config} failed:\n{done.stderr[-3000:]}")
        rows.append((config, json.loads(done.stdout.strip().splitlines()[-1])))
    first = rows[0][1]["outline_s"]
    print("| config | outline (median s) | ms per token | stage 2, {} calls at once (s) | edit script (median s) | "
          "outline vs first |".format(rows[0][1]["calls"]))  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    for config, r in rows:
        print(f"| {config} | {r['outline_s']:.2f} | {r['ms_per_token']:.0f} | {r['stage2_s']:.2f} | "
              f"{r['edit_s']:.2f} | {first / r['outline_s']:.2f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
