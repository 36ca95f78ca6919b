"""Which library should enforce which constraint on a transformers checkpoint: outlines' three backends.

    python benchmarks/outlines_bench.py [--repeats 2]

One model (the configured one, default Gemma 3 270M) in plain transformers, as `CheckpointEngine`
runs it. For the stage-1 outline schema and the stage-2 input schemas of the benchmark workflow
(`generation_bench.py`), and for each backend (outlines_core, llguidance, xgrammar): the time to set
the library up for the tokenizer (once) and to compile each constraint, whether the answers are
valid, and their tokens/s beside the same prompts decoded unconstrained for exactly as many tokens
(same run, so the ratio is what to compare).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any, get_args

import jsonschema
from generation_bench import REQUIREMENT, stage2_calls
from outlines_core.json_schema import build_regex_from_schema

from flowgen.catalog import load_catalog
from flowgen.settings import Settings
from generation.engines.transformers import Backend, CheckpointEngine
from generation.model import base_model, machine_dtype
from generation.outline import outline_schema
from generation.prompts import outline_prompt

TRIGGERS = ["record_update", "record_create", "scheduled_daily"]
ACTIONS = ["look_up_records", "update_record", "add_work_note", "send_email", "post_slack_message", "log",
           "create_record", "ask_for_approval", "create_task", "send_notification"]  # fmt: skip
TABLES = ["incident", "sys_user", "change_request"]
REGEX_LIMIT = 100_000  # outlines_core indexes every regex state x token: 2-15k-character regexes took ~40 s each here


def stage1_call() -> tuple[str, dict[str, Any]]:
    catalog = load_catalog("core")
    actions = [a for a in ACTIONS if a in catalog.actions]
    triggers = [t for t in TRIGGERS if t in catalog.triggers]
    schema = outline_schema(catalog, REQUIREMENT, triggers, actions, TABLES)
    return outline_prompt("compact", REQUIREMENT, catalog, triggers, actions, TABLES), schema


async def measure(engine: CheckpointEngine, calls: dict[str, list[tuple[str, dict[str, Any]]]], repeats: int) -> None:
    print("| constraint | backend | set-up s | compile s | valid | constrained tok/s | unconstrained tok/s | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    setup: dict[str, float] = {}
    for name, group in calls.items():
        tokens = 600 if name == "outline" else 200
        for backend in get_args(Backend):
            engine.backend = backend
            if backend not in setup:  # the library's view of the 262k-token vocabulary, built once per engine
                start = time.perf_counter()
                engine.processor({"type": "boolean"})
                setup[backend] = time.perf_counter() - start
            row = f"| {name} | {backend} | {setup[backend]:.1f}"
            if backend == "outlines_core":
                longest = max(len(build_regex_from_schema(json.dumps(s), "")) for _, s in group)
                if longest > REGEX_LIMIT:
                    print(f"{row} | not built: a regex of {longest:,} characters | - | - | - | - |", flush=True)
                    continue
            start = time.perf_counter()
            for _, schema in group:
                engine.processor(schema)
            compile_s = (time.perf_counter() - start) / len(group)
            valid, con, unc = 0, [], []
            for _ in range(repeats):
                for prompt, schema in group:
                    start = time.perf_counter()
                    done = await engine.complete(prompt, schema, tokens)
                    con.append(done.tokens / (time.perf_counter() - start))
                    try:
                        jsonschema.validate(json.loads(done.text), schema)
                        valid += 1
                    except (json.JSONDecodeError, jsonschema.ValidationError):
                        pass
                    start = time.perf_counter()
                    free = await engine.complete(prompt, None, done.tokens, min_tokens=done.tokens)
                    unc.append(free.tokens / (time.perf_counter() - start))
            c, u = statistics.median(con), statistics.median(unc)
            print(f"{row} | {compile_s:.2f} | {valid}/{len(group) * repeats} | {c:.1f} | {u:.1f} | {c / u:.2f} |",
                  flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    settings = Settings()
    model = base_model(settings)
    engine = CheckpointEngine(model, settings.engine.lora, machine_dtype(settings.engine.dtype))
    calls = {"outline": [stage1_call()], "stage 2 inputs": stage2_calls()}
    asyncio.run(measure(engine, calls, args.repeats))


if __name__ == "__main__":
    main()
