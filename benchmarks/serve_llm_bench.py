"""Our LLM deployment (`serving.llm.LLMServer`) vs Ray Serve's own (`ray.serve.llm`), in one run.

    python benchmarks/serve_llm_bench.py [--max-tokens 200] [--repeats 3]

Each server is deployed alone (Ray started as `flowgen serve` does, then stopped again: two engines
would share the 2 cores) on the same model and engine settings, and called through its deployment
handle with the same stage-2 calls (`generation_bench.py`'s workflow, one JSON schema per request,
greedy, same max_tokens). Measured: deployment start (until the replica is up, engine included),
the latency of one request (median of 5, after a warm-up) and the total time of 8 concurrent
requests (median of `--repeats`), and whether every answer parses and has exactly the schema's keys.
Printed side by side with the ratio ray.serve.llm / ours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil
from generation_bench import stage2_calls  # type: ignore[import-not-found]  # sibling script

from flowgen.settings import Settings
from generation.engines import Completion
from generation.model import base_model, machine_dtype

Call = tuple[str, dict[str, Any]]
Ask = Callable[[str, dict[str, Any], int], Awaitable[Completion]]
MODEL_ID = "gemma"


def obeys(answer: Completion, schema: dict[str, Any]) -> bool:
    """Parses, and has every required key and no other (the schemas forbid additional properties)."""
    try:
        value = json.loads(answer.text)
    except json.JSONDecodeError:
        return False
    return isinstance(value, dict) and set(schema["required"]) <= value.keys() <= schema["properties"].keys()


def deploy(app: Any, name: str, timeout_s: float) -> tuple[Any, float]:
    """Deploy `app` and wait until it runs; its handle and the seconds it took.

    `serve._run(_blocking=False)` + polling instead of `serve.run`, which would wait forever on a
    replica that never gets its resources (ray.serve.llm without a CPU accelerator hint).
    """
    from ray import serve
    from ray.serve.schema import ApplicationStatus

    start = time.perf_counter()
    handle = serve._run(app, _blocking=False, name=name, route_prefix=None)
    while time.perf_counter() - start < timeout_s:
        status = serve.status().applications.get(name)
        if status is not None and status.status == ApplicationStatus.RUNNING:
            return handle, time.perf_counter() - start
        if status is not None and status.status == ApplicationStatus.DEPLOY_FAILED:
            raise RuntimeError(f"{name}: deploy failed: {status.message}")
        time.sleep(1)
    raise TimeoutError(f"{name}: not running after {timeout_s:.0f} s: {serve.status().applications.get(name)}")


def deploy_ours(settings: Settings, model: Path, timeout_s: float) -> tuple[Ask, float]:
    from serving.llm import LLMServer

    settings = settings.model_copy(update={"engine": settings.engine.model_copy(update={"model": model})})
    # One failed constructor is enough: each retry would start another engine on the shared cores.
    app = LLMServer.options(max_constructor_retry_count=1).bind(settings)
    handle, seconds = deploy(app, "ours", timeout_s)

    async def ask(prompt: str, schema: dict[str, Any], max_tokens: int) -> Completion:
        return await handle.complete.remote(prompt, schema, max_tokens)

    return ask, seconds


def deploy_ray_llm(settings: Settings, model: Path, timeout_s: float) -> tuple[Ask, float]:
    from ray.serve.llm import LLMConfig, build_llm_deployment
    from ray.serve.llm.openai_api_models import CompletionRequest

    engine = settings.engine
    config = LLMConfig(
        model_loading_config={"model_id": MODEL_ID, "model_source": str(model)},
        accelerator_config={"kind": "cpu"},  # without it the replica waits for a GPU forever
        engine_kwargs={
            "max_model_len": engine.max_model_len,
            "max_num_seqs": engine.max_num_seqs,  # as ours: same batch limit
            "kv_cache_memory_bytes": engine.kv_cache_memory_bytes,
            "enable_prefix_caching": True,
            "dtype": machine_dtype(engine.dtype),
            "enforce_eager": engine.enforce_eager,
            "structured_outputs_config": {"backend": engine.structured_backend, "disable_any_whitespace": True},
        },
        deployment_config={"num_replicas": 1},
    )
    app = build_llm_deployment(config, override_serve_options={"max_constructor_retry_count": 1})
    handle, seconds = deploy(app, "ray-llm", timeout_s)
    # Its methods are async generators: even a non-streaming request must be read as a stream.
    stream = handle.options(stream=True)

    async def ask(prompt: str, schema: dict[str, Any], max_tokens: int) -> Completion:
        # The schema goes per request in vLLM's own field, exactly as our engine passes it.
        request = CompletionRequest(
            model=MODEL_ID, prompt=prompt, max_tokens=max_tokens, temperature=0.0, structured_outputs={"json": schema}
        )
        final = None
        async for out in stream.completions.remote(request):
            final = out
        if final is None or not hasattr(final, "choices"):
            raise RuntimeError(f"ray.serve.llm answered {final!r}")
        choice = final.choices[0]
        return Completion(text=choice.text, tokens=final.usage.completion_tokens, finish_reason=choice.finish_reason)

    return ask, seconds


async def measure(ask: Ask, calls: list[Call], max_tokens: int, repeats: int) -> dict[str, Any]:
    # Warm-up: every schema's grammar compiled, every prompt's prefix cached, in both servers alike.
    warm = await asyncio.gather(*(ask(p, s, max_tokens) for p, s in calls))
    # The single request: the call with the longest answer (the trigger's may be just "{}").
    pick = max(range(len(calls)), key=lambda i: warm[i].tokens)
    prompt, schema = calls[pick]
    latencies = []
    for _ in range(5):
        start = time.perf_counter()
        single = await ask(prompt, schema, max_tokens)
        latencies.append(time.perf_counter() - start)
    batch = (calls * 2)[:8]
    totals, answers = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        answers = await asyncio.gather(*(ask(p, s, max_tokens) for p, s in batch))
        totals.append(time.perf_counter() - start)
    return {
        "latency": statistics.median(latencies),
        "single_call": pick,
        "single_tokens": single.tokens,
        "batch": statistics.median(totals),
        "batch_tokens": sum(a.tokens for a in answers),
        "valid": sum(obeys(a, s) for a, (_, s) in zip(answers, batch, strict=True)) + obeys(single, schema),
        "texts": [single.text] + [a.text for a in answers],
    }


def engine_cores() -> set[int]:
    """Pids of vLLM engine-core processes (the other engineer's included: compare before/after)."""
    found = set()
    for proc in psutil.process_iter(["name", "cmdline"]):
        if "EngineCore" in (proc.info["name"] or "") or "EngineCore" in " ".join(proc.info["cmdline"] or []):
            found.add(proc.pid)
    return found


def run_phase(name: str, deployer: Callable[[], tuple[Ask, float]], args: argparse.Namespace) -> dict[str, Any]:
    """Start Ray, deploy, measure, stop everything; the engine core is gone before the next phase."""
    import ray
    from ray import serve

    before = engine_cores()
    ray.init(include_dashboard=False, object_store_memory=512 * 1024**2)
    serve.start(proxy_location="Disabled")  # handles only: no HTTP proxy competing for the cores
    result: dict[str, Any] = {}
    try:
        ask, result["start"] = deployer()
        print(f"{name}: deployed in {result['start']:.1f} s", flush=True)
        result |= asyncio.run(measure(ask, stage2_calls(), args.max_tokens, args.repeats))
    except Exception as err:  # report it beside the other server's numbers
        result["error"] = f"{type(err).__name__}: {err}"
        print(f"{name}: {result['error']}", flush=True)
    finally:
        serve.shutdown()
        ray.shutdown()
        deadline = time.time() + 60
        while engine_cores() - before and time.time() < deadline:
            time.sleep(1)
    return result


def report(ours: dict[str, Any], theirs: dict[str, Any], max_tokens: int) -> None:
    rows = [
        ("deployment start (s)", "start", "{:.1f}"),
        ("1 request, median of 5 (s)", "latency", "{:.2f}"),
        ("  which stage-2 call", "single_call", "{}"),
        ("  its generated tokens", "single_tokens", "{}"),
        ("8 concurrent, total (s)", "batch", "{:.2f}"),
        ("  their generated tokens", "batch_tokens", "{}"),
        ("answers obeying schema (of 9)", "valid", "{}"),
    ]
    print(f"\nmax_tokens {max_tokens}, greedy, JSON schema per request")
    print(f"{'':32}{'ours':>10}{'ray.serve.llm':>15}{'ratio':>8}")
    for label, key, fmt in rows:
        a, b = ours.get(key), theirs.get(key)
        ratio = f"{b / a:.2f}" if a and b and key in ("start", "latency", "batch") else ""
        print(f"{label:32}{fmt.format(a) if a is not None else '-':>10}{fmt.format(b) if b is not None else '-':>15}"
              f"{ratio:>8}")  # fmt: skip
    if "texts" in ours and "texts" in theirs:
        same = sum(x == y for x, y in zip(ours["texts"], theirs["texts"], strict=True))
        print(f"identical answers: {same} of {len(ours['texts'])}")
    for name, result in (("ours", ours), ("ray.serve.llm", theirs)):
        if "error" in result:
            print(f"{name} failed: {result['error']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3, help="rounds of 8 concurrent requests")
    parser.add_argument("--deploy-timeout", type=float, default=600)
    args = parser.parse_args()
    settings = Settings()
    # Absolute: the replicas need not share this process's working directory.
    model = base_model(settings).resolve()
    ours = run_phase("ours", lambda: deploy_ours(settings, model, args.deploy_timeout), args)
    theirs = run_phase("ray.serve.llm", lambda: deploy_ray_llm(settings, model, args.deploy_timeout), args)
    report(ours, theirs, args.max_tokens)


if __name__ == "__main__":
    main()
