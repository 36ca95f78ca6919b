"""Writing an evaluation: report.json (everything), report.md (the paper's tables), matrix.csv (Table 4)."""

from __future__ import annotations

import csv
from pathlib import Path

from flowgen.features import GROUPS

from .harness import EvalReport


def write_report(report: EvalReport, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "report.json", out_dir / "report.md", out_dir / "matrix.csv"]
    paths[0].write_text(report.model_dump_json(indent=1) + "\n", encoding="utf-8")
    paths[1].write_text(render_markdown(report), encoding="utf-8")
    features = matrix_features(report)
    with paths[2].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sample_id", *features, "outline", "inputs"])
        for s in report.samples:
            writer.writerow([s.id, *(int(f in s.features) for f in features), f"{s.outline:.1f}", f"{s.inputs:.1f}"])
    return paths


def matrix_features(report: EvalReport) -> list[str]:
    return [f.feature for f in report.features]


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render_markdown(report: EvalReport) -> str:
    s = report.summary
    parts = [
        "# Evaluation\n",
        _table(
            ["samples", "FlowSim outline", "FlowSim outline+inputs", "% structure errors", "% catalog errors"],
            [
                [
                    str(s.samples),
                    f"{s.outline:.1f}",
                    f"{s.inputs:.1f}",
                    f"{s.structure_error_pct:.1f}",
                    f"{s.catalog_error_pct:.1f}",
                ]
            ],
        ),  # fmt: skip
        "\n## After structure validation (Appendix C)\n",
        _table(["outline", "outline+inputs"], [[f"{s.outline_validated:.1f}", f"{s.inputs_validated:.1f}"]]),
        "\n## Answers that are not scored workflows\n",
        _table(
            ["missing", "unparsable", "refused rightly", "refused wrongly", "missed refusals"],
            [
                [
                    str(s.missing),
                    str(s.unparsable),
                    str(s.refused_rightly),
                    str(s.refused_wrongly),
                    str(s.missed_refusals),
                ]
            ],
        ),  # fmt: skip
    ]
    if (c := report.cost) is not None:
        parts += [
            "\n## Cost per answer (answers that called the model, on the machine that generated them)\n",
            _table(
                ["answers", "tokens (mean)", "model calls (mean)", "time to outline (median)", "total (median)",
                 "total (p90)"],
                [[str(c.answers), f"{c.tokens_mean:.0f}", f"{c.calls_mean:.1f}", f"{c.time_to_outline_median_s:.1f} s",
                  f"{c.total_median_s:.1f} s", f"{c.total_p90_s:.1f} s"]],
            ),
        ]  # fmt: skip
    parts.append("\n## Feature subsets (Table 5)\n")
    by_name = {f.feature: f for f in report.features}
    rows: list[list[str]] = []
    for group, members in GROUPS.items():
        scored = [by_name[m] for m in members if m in by_name]
        rows.append([f"**{group}**", "", "", ""])
        rows += [[f.feature, str(f.samples), f"{f.outline:.1f}", f"{f.inputs:.1f}"] for f in scored]
        if scored:
            rows.append(
                ["average", "", f"{sum(f.outline for f in scored) / len(scored):.1f}",
                 f"{sum(f.inputs for f in scored) / len(scored):.1f}"]
            )  # fmt: skip
    parts.append(_table(["feature", "# samples", "outline", "outline+inputs"], rows))
    parts.append("\n## Every feature\n")
    parts.append(
        _table(
            ["feature", "description", "# samples", "outline", "outline+inputs"],
            [
                [f.feature, f.description, str(f.samples), f"{f.outline:.1f}", f"{f.inputs:.1f}"]
                for f in report.features
            ],
        )
    )
    features = matrix_features(report)
    parts.append("\n## Feature matrix (Table 4)\n")
    parts.append(
        _table(
            ["sample id", *features, "outline", "outline+inputs"],
            [
                [s.id, *("1" if f in s.features else "0" for f in features), f"{s.outline:.0f}", f"{s.inputs:.0f}"]
                for s in report.samples
            ],
        )  # fmt: skip
    )
    return "".join(parts)
