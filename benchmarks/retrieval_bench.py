"""Retriever speed, in one run: embedding one query at a time vs batched, and suggestion latency.

    python benchmarks/retrieval_bench.py [--queries 256]

Uses the configured embedder and the index under FLOWGEN_DATA_DIR (built first if missing).
Stage 1 = steps for a requirement (the requirement and its clauses, one search each);
stage 2 = tables, then columns of the best table, then values of a choice column, for an annotation.
"""

from __future__ import annotations

import argparse
import time

from flowdata.splits import load_split
from flowgen.settings import Settings
from flowgen.workflow import Workflow
from retrieval.suggest import Retriever


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2] * 1000, ordered[int(len(ordered) * 0.95)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=256)
    args = parser.parse_args()
    settings = Settings()
    retriever = Retriever.open(settings)
    retriever.sync_all()
    refs = [r for r in load_split(settings.dataset_dir, "test") if isinstance(r.expected, Workflow)]
    annotations = [s.annotation for r in refs for s in r.expected.components][: args.queries]
    embedder = retriever.index.embedder

    start = time.perf_counter()
    for text in annotations:
        embedder.encode([text])
    one = time.perf_counter() - start
    start = time.perf_counter()
    embedder.encode(annotations)
    batched = time.perf_counter() - start
    print(f"embedding {len(annotations)} queries: one at a time {len(annotations) / one:.0f}/s, "
          f"batched {len(annotations) / batched:.0f}/s, ratio {one / batched:.1f}x")  # fmt: skip

    stage1, stage2 = [], []
    for ref in refs:
        start = time.perf_counter()
        retriever.steps(ref.requirement, ref.tenant)
        stage1.append(time.perf_counter() - start)
        step = ref.expected.components[0]
        start = time.perf_counter()
        table = retriever.tables(step.annotation, ref.tenant, 5)[0].key
        columns = retriever.columns(table, step.annotation, ref.tenant, 5)
        choice = next((c for c in columns if "choice" in c.text), None)
        if choice and choice.column:
            retriever.values(table, choice.column, step.annotation, ref.tenant, 5)
        stage2.append(time.perf_counter() - start)
    for name, samples in (("stage 1 (steps)", stage1), ("stage 2 (table, columns, values)", stage2)):
        p50, p95 = percentiles(samples)
        print(f"{name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(samples)} requirements")
    retriever.index.client.close()


if __name__ == "__main__":
    main()
