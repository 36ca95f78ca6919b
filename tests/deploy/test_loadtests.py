"""The load test's own logic (loadtests/run.py) without a service: phases, the import catalog, SLO verdicts."""

from __future__ import annotations

import pytest

from flowgen.catalog.limits import CatalogLimits
from flowgen.catalog.model import CatalogFile
from loadtests.run import SLO, Phase, big_catalog, broken_slos, extremes, parse_phases, report


def test_phases_parse_with_an_optional_import() -> None:
    phases = parse_phases("1:60,4:150:import", import_tables=12)
    assert [(p.users, p.seconds, p.imports, p.name) for p in phases] == [(1, 60, 0, "c1"), (4, 150, 12, "c4-import")]
    with pytest.raises(ValueError, match="users:seconds:import"):
        parse_phases("4:150:later")


def test_the_import_catalog_is_a_valid_catalog_within_the_default_limits() -> None:
    document = CatalogFile.model_validate(big_catalog(300))
    CatalogLimits().check(document)
    assert len(document.tables) == 300 and all(len(t.columns) == 20 for t in document.tables)


def test_a_slow_endpoint_a_5xx_and_a_failed_import_break_the_slos() -> None:
    row = {"name": "POST /v1/workflows", "requests": 3, "failures": 1, "rps": 0.1, "p50_s": 9.0, "p95_s": 300.0,
           "p99_s": 300.0}  # fmt: skip
    phase = Phase(4, 60, imports=10, rows=[row], imported={"tables": 10, "seconds": 2.0, "status": 503},
                  failures=[{"name": "POST /v1/workflows", "error": "status 503: busy", "count": 1}])  # fmt: skip
    broken = broken_slos([phase], SLO())
    assert len(broken) == 4, broken
    assert "p95 300.0 s > 240 s" in broken[0] and "answers >= 500" in broken[2] and "import" in broken[3]
    phase.rows, phase.failures, phase.imported = [{**row, "p95_s": 10.0}], [], {"status": 201}
    assert broken_slos([phase], SLO()) == []


def test_the_concurrency_ratio_compares_the_busiest_plain_phase_with_the_quietest() -> None:
    """Whatever the order of the phases, and however many users an import phase has."""
    row = {"name": "POST /v1/workflows", "requests": 0, "failures": 0, "rps": 0.0, "p50_s": 1.0, "p95_s": 1.0,
           "p99_s": 1.0}  # fmt: skip
    phases = [Phase(users, 100, imports=imports, started=0.0, ended=100.0, rows=[{**row, "requests": done}])
              for users, imports, done in [(16, 0, 12), (1, 0, 4), (32, 300, 20), (4, 0, 8)]]  # fmt: skip
    least, most = extremes(phases)
    assert (least.users, most.users) == (1, 16)
    assert "workflows/s at 16 users / at 1: **3.00x**" in report(phases, SLO(), [], {}, "python -m loadtests.run")
