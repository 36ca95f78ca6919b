"""Score predictions against references the way the paper does, and more.

Per sample: FlowSim of the outline and of outline-and-inputs, the same after structure validation
(a workflow with any structure error scores 0, Appendix C), and whether the answer has structure or
catalog errors. Missing or unparsable predictions score 0. Refusals follow spec section 4.
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import fmean, median

from pydantic import BaseModel

from flowgen.catalog import Catalog, load_catalog
from flowgen.errors import FlowGenError
from flowgen.features import FEATURES, GROUPS
from flowgen.metrics import VARIANTS, Variant
from flowgen.validation import validate
from flowgen.workflow import OutOfScope, Workflow, parse_answer

from .records import Cost, Prediction, Reference


class SampleScore(BaseModel):
    id: str
    source: str = "generated"  # the reference's: 'generated' or 'handwritten'
    features: list[str]
    outcome: str
    """scored, missing, unparsable, refused_rightly, refused_wrongly, missed_refusal."""
    outline: float
    inputs: float
    outline_validated: float
    inputs_validated: float
    structure_error: bool
    catalog_error: bool
    violations: list[str] = []


class FeatureScore(BaseModel):
    feature: str
    description: str
    group: str | None
    samples: int
    outline: float
    inputs: float


class Summary(BaseModel):
    samples: int
    outline: float
    inputs: float
    outline_validated: float
    inputs_validated: float
    structure_error_pct: float
    catalog_error_pct: float
    missing: int
    unparsable: int
    refused_rightly: int
    refused_wrongly: int
    missed_refusals: int


class CostSummary(BaseModel):
    """Per answer, over the predictions that recorded their cost (`flowgen predict` does)."""

    answers: int
    tokens_mean: float
    calls_mean: float
    time_to_outline_median_s: float
    total_median_s: float
    total_p90_s: float


class EvalReport(BaseModel):
    summary: Summary
    cost: CostSummary | None = None
    features: list[FeatureScore]
    samples: list[SampleScore]


def score_sample(ref: Reference, pred: Prediction | None, catalog: Catalog, variant: Variant = "flowgen"
                 ) -> SampleScore:  # fmt: skip
    def result(outcome: str, score: float = 0.0) -> SampleScore:
        return SampleScore(
            id=ref.id, source=ref.source, features=ref.features, outcome=outcome, outline=score, inputs=score,
            outline_validated=score, inputs_validated=score, structure_error=False, catalog_error=False,
        )  # fmt: skip

    if pred is None or pred.output is None:
        return result("missing")
    try:
        answer = parse_answer(pred.output)
    except FlowGenError:
        return result("unparsable")
    expected = ref.expected
    if isinstance(expected, OutOfScope):
        return result("refused_rightly", 100.0) if isinstance(answer, OutOfScope) else result("missed_refusal")
    if isinstance(answer, OutOfScope):
        return result("refused_wrongly")
    assert isinstance(answer, Workflow)
    report = validate(answer, catalog)
    sim = VARIANTS[variant](answer, expected)
    broken = bool(report.structure_errors)
    return SampleScore(
        id=ref.id,
        source=ref.source,
        features=ref.features,
        outcome="scored",
        outline=sim.outline,
        inputs=sim.inputs,
        outline_validated=0.0 if broken else sim.outline,
        inputs_validated=0.0 if broken else sim.inputs,
        structure_error=broken,
        catalog_error=bool(report.catalog_errors),
        violations=[str(v) for v in report.violations],
    )


def evaluate(
    references: list[Reference],
    predictions: dict[str, Prediction],
    catalogs: Callable[[str], Catalog] = load_catalog,
    on_sample: Callable[[], None] | None = None,
    variant: Variant = "flowgen",
) -> EvalReport:
    """Scores with our FlowSim, or with ServiceNow's StarFlow variant to compare with its numbers."""
    if not references:
        raise FlowGenError("no references to score")
    samples = []
    for ref in references:
        samples.append(score_sample(ref, predictions.get(ref.id), catalogs(ref.tenant), variant))
        if on_sample:
            on_sample()
    costs = [p.cost for r in references if (p := predictions.get(r.id)) and p.cost]
    return EvalReport(summary=_summary(samples), cost=_cost(costs), features=_features(samples), samples=samples)


def _cost(costs: list[Cost]) -> CostSummary | None:
    """Over the answers that called the model: a refusal by the retriever-side gate generates nothing."""
    costs = [c for c in costs if c.calls]
    if not costs:
        return None
    totals = sorted(c.seconds["total"] for c in costs)
    return CostSummary(
        answers=len(costs),
        tokens_mean=fmean(c.tokens for c in costs),
        calls_mean=fmean(c.calls for c in costs),
        time_to_outline_median_s=median(c.seconds["time_to_outline"] for c in costs),
        total_median_s=median(totals),
        total_p90_s=totals[min(len(totals) - 1, int(0.9 * len(totals)))],
    )


def _pct(samples: list[SampleScore], test: Callable[[SampleScore], bool]) -> float:
    return 100.0 * sum(1 for s in samples if test(s)) / len(samples)


def _summary(samples: list[SampleScore]) -> Summary:
    def count(outcome: str) -> int:
        return sum(1 for s in samples if s.outcome == outcome)

    return Summary(
        samples=len(samples),
        outline=fmean(s.outline for s in samples),
        inputs=fmean(s.inputs for s in samples),
        outline_validated=fmean(s.outline_validated for s in samples),
        inputs_validated=fmean(s.inputs_validated for s in samples),
        structure_error_pct=_pct(samples, lambda s: s.structure_error),
        catalog_error_pct=_pct(samples, lambda s: s.catalog_error),
        missing=count("missing"),
        unparsable=count("unparsable"),
        refused_rightly=count("refused_rightly"),
        refused_wrongly=count("refused_wrongly"),
        missed_refusals=count("missed_refusal"),
    )


def _features(samples: list[SampleScore]) -> list[FeatureScore]:
    group_of = {feature: group for group, members in GROUPS.items() for feature in members}
    present = {f for s in samples for f in s.features}
    out = []
    for feature in [f for f in FEATURES if f in present] + sorted(present - FEATURES.keys()):
        with_it = [s for s in samples if feature in s.features]
        out.append(
            FeatureScore(
                feature=feature,
                description=FEATURES.get(feature, ""),
                group=group_of.get(feature),
                samples=len(with_it),
                outline=fmean(s.outline for s in with_it),
                inputs=fmean(s.inputs for s in with_it),
            )
        )
    return out
