"""Workflows/s and p50 / p95 latency through the HTTP API at concurrency 1, 4 and 16, beside the
same pipeline called in process, in one run.

    python benchmarks/serving_bench.py [--per-level 2] [--levels 1,4,16]

Phase 1 starts the Ray Serve application (as `flowgen serve` does) and sends the test split's
in-scope requirements over HTTP, `per-level x concurrency` of them at each level; phase 2 stops it,
starts the same engine and retriever in this process and runs the same requirements through the
pipeline directly. Ratios: HTTP / in-process latency at concurrency 1 (goal <= 1.15) and HTTP
workflows/s at the highest level / at concurrency 1 (goal >= 3).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx

from flowdata.splits import load_split
from flowgen.settings import Settings
from flowgen.workflow import Workflow
from generation.engines import Engine, GenerationFailed
from generation.pipeline import InProcess, Pipeline
from generation.session import with_engine
from retrieval.suggest import Retriever
from serving.cli import start, stop

Run = Callable[[str], Awaitable[bool]]  # True: a workflow (or refusal); False: a generation that failed


async def level(run: Run, requirements: list[str], concurrency: int) -> dict[str, float]:
    """Send `requirements` with at most `concurrency` in flight; latencies and throughput."""
    queue = list(requirements)
    latencies: list[float] = []
    failed = 0

    async def worker() -> None:
        nonlocal failed
        while queue:
            requirement = queue.pop()
            start_at = time.perf_counter()
            failed += not await run(requirement)
            latencies.append(time.perf_counter() - start_at)

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - begin
    cuts = statistics.quantiles(latencies, n=20, method="inclusive") if len(latencies) > 1 else latencies * 19
    return {"n": len(latencies), "failed": failed, "wf/s": len(latencies) / wall,
            "p50": statistics.median(latencies), "p95": cuts[18]}  # fmt: skip


async def sweep(name: str, run: Run, requirements: list[str], levels: list[int], per_level: int) -> dict[int, dict]:
    await run(requirements[0])  # warm-up: prefix cache, grammar compilation
    results = {}
    for concurrency in levels:
        results[concurrency] = await level(run, requirements[: per_level * concurrency], concurrency)
        r = results[concurrency]
        print(
            f"{name:10} c={concurrency:<3} n={r['n']:<3} failed={r['failed']:<2} {r['wf/s']:.3f} wf/s"
            f"  p50 {r['p50']:.2f} s  p95 {r['p95']:.2f} s",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-level", type=int, default=2, help="requests per unit of concurrency")
    parser.add_argument("--levels", default="1,4,16")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    settings = Settings()
    refs = [r for r in load_split(settings.dataset_dir, "test") if isinstance(r.expected, Workflow)]
    requirements = [r.requirement for r in refs][: args.per_level * max(levels)]

    url = start(settings)
    client = httpx.AsyncClient(timeout=600)

    async def over_http(requirement: str) -> bool:
        response = await client.post(f"{url}/v1/workflows", json={"requirement": requirement})
        if response.status_code not in (200, 502):  # 502: the model's answer failed (e.g. hit max_tokens)
            response.raise_for_status()
        return response.status_code == 200

    try:
        http = asyncio.run(sweep("http", over_http, requirements, levels, args.per_level))
    finally:
        stop()

    async def in_process_sweep(engine: Engine, retriever: Retriever) -> dict[int, dict]:
        pipeline = Pipeline(engine, InProcess(retriever))

        async def in_process(requirement: str) -> bool:
            try:
                await pipeline.run(requirement)
            except GenerationFailed:
                return False
            return True

        return await sweep("in-process", in_process, requirements, levels, args.per_level)

    local = with_engine(settings, in_process_sweep)

    low, high = levels[0], levels[-1]
    print(f"\nHTTP / in-process p50 latency at c={low}: {http[low]['p50'] / local[low]['p50']:.2f} (goal <= 1.15)")
    print(f"HTTP workflows/s at c={high} / c={low}: {http[high]['wf/s'] / http[low]['wf/s']:.2f} (goal >= 3)")
    print(f"in-process workflows/s at c={high} / c={low}: {local[high]['wf/s'] / local[low]['wf/s']:.2f}")


if __name__ == "__main__":
    main()
