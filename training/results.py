"""`flowgen results`: base-prompted vs fine-tuned, same harness, one run, written into docs/results.md.

The paper's Figure 4 (FlowSim on test and ood, RAG and perfect RAG), Table 3 (structure and catalog
errors, scores after structure validation, refusals), Table 5 (feature subsets) and the cost per
answer. Quality runs keep several examples in flight (the engine batches them); cost is measured on
its own run, one answer at a time, since concurrent answers wait for each other. Predictions are
resumable files under <data_dir>/results, so an interrupted run continues where it stopped; each finished
run's record (scores, date, command) is kept beside the document (docs/results/<run>.json, committed), so
that a later run of one split on a fresh machine rewrites the document without losing the others.
"""

from __future__ import annotations

import datetime as dt
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from statistics import fmean
from typing import Literal

from pydantic import BaseModel

from flowdata.splits import load_split
from flowgen.catalog import load_catalog
from flowgen.evaluation.harness import EvalReport, evaluate
from flowgen.evaluation.records import load_predictions
from flowgen.evaluation.report import write_report
from flowgen.features import GROUPS
from flowgen.settings import Settings
from generation.engines import Engine
from generation.model import model_identity
from generation.pipeline import InProcess, Pipeline
from generation.predict import predict_all
from generation.session import with_engine
from retrieval.suggest import Retriever

System = Literal["base", "fine_tuned"]
SYSTEMS: dict[System, dict[str, object]] = {
    "base": {"fine_tuned": False, "prompt_style": "compact"},  # the base model, prompted with an example
    "fine_tuned": {"fine_tuned": True, "prompt_style": "tuned"},  # the shipped adapter, merged
}
COST_SAMPLES = 40


class Run(BaseModel):
    system: System
    split: str
    rag: Literal["real", "perfect"] = "real"
    concurrency: int = 8
    limit: int | None = None

    @property
    def name(self) -> str:
        return f"{self.system}-{self.split}-{self.rag}" + ("-cost" if self.concurrency == 1 else "")


class Done(BaseModel):
    run: Run
    date: str
    command: str
    report: EvalReport


def system_settings(settings: Settings, system: System) -> Settings:
    return settings.model_copy(update={"engine": settings.engine.model_copy(update=SYSTEMS[system])})


def plan(systems: list[System], splits: list[str], perfect: bool, cost: bool) -> list[Run]:
    runs = [Run(system=s, split=split) for s in systems for split in splits]
    runs += [Run(system=s, split=split, rag="perfect") for s in systems for split in splits if perfect]
    runs += [Run(system=s, split="test", concurrency=1, limit=COST_SAMPLES) for s in systems if cost]
    return runs


async def _predict(engine: Engine, settings: Settings, retriever: Retriever, run: Run, folder: Path,
                   tick: Callable[[], None]) -> None:  # fmt: skip
    refs = load_split(settings.dataset_dir, run.split)[: run.limit]
    pipeline = Pipeline(engine, InProcess(retriever), settings.engine.prompt_style)
    path = folder / "predictions.jsonl"
    await predict_all(pipeline, refs, path, model_identity(settings), run.rag == "perfect", run.concurrency, tick)


def records_of(doc: Path) -> Path:
    """The folder of the finished runs' records that `doc` is rendered from: docs/results.md -> docs/results/."""
    return doc.with_suffix("")


def execute(runs: list[Run], settings: Settings, out: Path, records: Path,
            on_run: Callable[[Run, int], Callable[[], None]]) -> None:  # fmt: skip
    """Predict and score every run, one engine start per system; each finished run's record goes to `records`."""
    for system in dict.fromkeys(r.system for r in runs):
        own = system_settings(settings, system)

        async def all_runs(engine: Engine, retriever: Retriever, own: Settings = own,
                           system: System = system) -> None:  # fmt: skip
            for run in (r for r in runs if r.system == system):
                refs = load_split(own.dataset_dir, run.split)[: run.limit]
                folder = out / run.name
                folder.mkdir(parents=True, exist_ok=True)
                await _predict(engine, own, retriever, run, folder, on_run(run, len(refs)))
                _score(run, refs, folder, own, records)

        with_engine(own, all_runs)


def _score(run: Run, refs: list, folder: Path, settings: Settings, records: Path) -> None:
    preds = load_predictions(folder / "predictions.jsonl")
    report = evaluate(refs, preds, lambda t: load_catalog(t, settings.catalog_dir))
    write_report(report, folder)
    command = " ".join(["flowgen results", *map(shlex.quote, sys.argv[2:])])
    done = Done(run=run, date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), command=command, report=report)
    records.mkdir(parents=True, exist_ok=True)
    (records / f"{run.name}.json").write_text(done.model_dump_json(indent=1) + "\n")


def collect(records: Path) -> list[Done]:
    return [Done.model_validate_json(p.read_text()) for p in sorted(records.glob("*.json"))]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def render(done: list[Done]) -> str:
    """docs/results.md from every finished run."""
    quality = [d for d in done if d.run.concurrency > 1]
    lines = [
        "# Results: base-prompted vs fine-tuned Gemma 3 270M",
        "",
        "Written by `flowgen results` (training/results.py); each row says when and with which command it ran.",
        "base: the base model prompted with the compact prompt and its example; fine_tuned: the shipped LoRA",
        "adapter (training/, docs/training.md) merged, with the tuned prompt. Same retriever, grammar, harness.",
        "ood_sample: the fixed stratified ood sample (20 per tenant, hand-written first: 120 hand-written, 80",
        "generated). Perfect RAG adds the expected steps to the suggestions.",
        "",
        "## FlowSim (Figure 4) and errors (Table 3)",
        "",
        _row(
            [
                "system",
                "split",
                "RAG",
                "n",
                "outline",
                "outline+inputs",
                "% structure err",
                "% catalog err",
                "validated outline",
                "validated outline+inputs",
                "refused rightly / wrongly / missed",
                "date",
                "command",
            ]
        ),  # fmt: skip
        "|" + "---|" * 13,
    ]
    for d in quality:
        s = d.report.summary
        lines.append(_row([d.run.system, d.run.split, d.run.rag, str(s.samples), f"{s.outline:.1f}", f"{s.inputs:.1f}",
                           f"{s.structure_error_pct:.1f}", f"{s.catalog_error_pct:.1f}", f"{s.outline_validated:.1f}",
                           f"{s.inputs_validated:.1f}",
                           f"{s.refused_rightly} / {s.refused_wrongly} / {s.missed_refusals}", d.date,
                           f"`{d.command}`"]))  # fmt: skip
    lines += _by_source(quality)
    lines += ["", "## Cost per answer (test, one answer at a time, this 2-core CPU)", "",
              _row(["system", "answers", "tokens (mean)", "calls (mean)", "time to outline p50", "total p50",
                    "total p90", "date"]), "|" + "---|" * 8]  # fmt: skip
    for d in (d for d in done if d.run.concurrency == 1 and d.report.cost):
        c = d.report.cost
        assert c is not None
        lines.append(_row([d.run.system, str(c.answers), f"{c.tokens_mean:.0f}", f"{c.calls_mean:.1f}",
                           f"{c.time_to_outline_median_s:.2f} s", f"{c.total_median_s:.2f} s",
                           f"{c.total_p90_s:.2f} s", d.date]))  # fmt: skip
    lines += ["", "## Feature subsets (Table 5), RAG", ""]
    for split in dict.fromkeys(d.run.split for d in quality):
        runs = [d for d in quality if d.run.split == split and d.run.rag == "real"]
        if not runs:
            continue
        lines += [f"### {split}", "", _row(["group", "feature", *(f"{d.run.system} outline / +inputs" for d in runs)]),
                  "|" + "---|" * (2 + len(runs))]  # fmt: skip
        scores = [{f.feature: f for f in d.report.features} for d in runs]
        for group, members in GROUPS.items():
            for feature in members:
                if all(feature in s for s in scores):
                    cells = [f"{s[feature].outline:.1f} / {s[feature].inputs:.1f} ({s[feature].samples})"
                             for s in scores]  # fmt: skip
                    lines.append(_row([group, feature, *cells]))
        lines.append("")
    return "\n".join(lines) + "\n"


def _by_source(quality: list[Done]) -> list[str]:
    """Hand-written against generated references of one run: a large gap means the model learned the generator's
    templates rather than the task."""
    mixed = [d for d in quality if len({s.source for s in d.report.samples}) > 1]
    if not mixed:
        return []
    header = ["system", "split", "RAG", "references", "n", "outline", "outline+inputs"]
    lines = ["", "### Hand-written vs generated references", "", _row(header), "|" + "---|" * len(header)]
    for d in mixed:
        for source in ("handwritten", "generated"):
            own = [s for s in d.report.samples if s.source == source]
            outline, inputs = fmean(s.outline for s in own), fmean(s.inputs for s in own)
            lines.append(_row([d.run.system, d.run.split, d.run.rag, source, str(len(own)), f"{outline:.1f}",
                               f"{inputs:.1f}"]))  # fmt: skip
    return lines


def write_results(doc: Path) -> Path:
    doc.write_text(render(collect(records_of(doc))), encoding="utf-8")
    return doc
