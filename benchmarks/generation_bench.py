"""Stage-2 latency, concurrent vs sequential, and tokens/s with vs without constraints, in one run.

    python benchmarks/generation_bench.py [--repeats 3] [--rounds 12]

One engine (the configured model, default Gemma 3 270M) serves both measurements, side by side:
1. the inputs of a 6-step workflow (plus its trigger), all stage-2 calls submitted at once (the
   engine batches them) vs one after the other;
2. 8 concurrent stage-2 requests with their JSON schemas vs the same prompts without, each
   unconstrained request made to generate exactly as many tokens as its constrained twin (so that
   both pay the same prefill and decode the same number of tokens; only the grammar differs), in
   alternating rounds; total tokens over total time per mode.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from flowgen.catalog import load_catalog
from flowgen.settings import Settings
from generation.engines.vllm import VLLMEngine
from generation.inputs import step_schema
from generation.model import base_model
from generation.outline import to_plan
from generation.prompts import inputs_prompt

REQUIREMENT = (
    "Every time a user becomes inactive, find all incidents where the user is the assignee and assign them to "
    "their manager, add a work note saying reassigned, email the manager, post to #it-ops on slack and log it."
)
OUTLINE = {
    "trigger": {"type": "record_update", "a": "Every time a user becomes inactive", "table": "sys_user"},
    "steps": [
        {"for_each": "assign them to their manager", "find": "find all incidents where the user is the assignee",
         "table": "incident", "then": [
             {"do": "update_record", "a": "assign them to their manager", "table": "incident"},
             {"do": "add_work_note", "a": "add a work note saying reassigned"}]},
        {"do": "send_email", "a": "email the manager"},
        {"do": "post_slack_message", "a": "post to #it-ops on slack"},
        {"do": "log", "a": "log it"},
    ],
}  # fmt: skip


def stage2_calls() -> list[tuple[str, dict[str, Any]]]:
    """The (prompt, schema) of every stage-2 call of the benchmark workflow (its trigger and steps with inputs)."""
    catalog = load_catalog("core")
    plan = to_plan(OUTLINE)
    calls = []
    for number in [0] + [s.step for s in plan.steps]:
        schema, _ = step_schema(catalog, plan, number, ["incident", "sys_user"])
        if schema["properties"]:
            prompt = inputs_prompt("compact", REQUIREMENT, plan, {}, number, plan.spec(catalog, number), [])
            calls.append((prompt, schema))
    return calls


async def measure(engine: VLLMEngine, repeats: int, rounds: int) -> None:
    calls = stage2_calls()
    await engine.complete(calls[0][0], calls[0][1], 96)  # warm-up: compile the grammar path once

    concurrent, sequential = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        await asyncio.gather(*(engine.complete(p, s, 200) for p, s in calls))
        concurrent.append(time.perf_counter() - start)
        start = time.perf_counter()
        for p, s in calls:
            await engine.complete(p, s, 200)
        sequential.append(time.perf_counter() - start)
    c, q = statistics.median(concurrent), statistics.median(sequential)
    steps = len(to_plan(OUTLINE).steps)
    print(f"stage 2, {steps} steps, {len(calls)} calls: concurrent {c:.2f} s, sequential {q:.2f} s, ratio {c / q:.2f}")

    batch = (calls * 2)[:8]
    # Greedy decoding is deterministic: each unconstrained twin decodes as many tokens as its constrained answer.
    lengths = [d.tokens for d in await asyncio.gather(*(engine.complete(p, s, 200) for p, s in batch))]
    jobs = {
        "constrained": lambda: [engine.complete(p, s, 200) for p, s in batch],
        "unconstrained": lambda: [
            engine.complete(p, None, n, min_tokens=n) for (p, _), n in zip(batch, lengths, strict=True)
        ],
    }
    spent = dict.fromkeys(jobs, 0.0)
    decoded = dict.fromkeys(jobs, 0)
    for round_ in range(rounds):
        for kind in sorted(jobs, reverse=round_ % 2 == 1):  # alternate the order: drift favours neither
            start = time.perf_counter()
            done = await asyncio.gather(*jobs[kind]())
            spent[kind] += time.perf_counter() - start
            decoded[kind] += sum(d.tokens for d in done)
    con, unc = (decoded[k] / spent[k] for k in jobs)
    print(f"8 concurrent requests, {rounds} rounds each: constrained {con:.1f} tokens/s, "
          f"unconstrained {unc:.1f} tokens/s, ratio {con / unc:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="Latency runs (the median is reported).")
    parser.add_argument("--rounds", type=int, default=12, help="Throughput rounds per mode (totals are reported).")
    args = parser.parse_args()
    settings = Settings()
    engine = VLLMEngine(settings.engine, base_model(settings))
    try:
        asyncio.run(measure(engine, args.repeats, args.rounds))
    finally:
        engine.shutdown()


if __name__ == "__main__":
    main()
