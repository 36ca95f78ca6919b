from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from flowgen.catalog import Catalog, load_catalog

FIXTURES = Path(__file__).parent / "fixtures"
PAPER = (
    "Every time a user becomes inactive, find all incidents where the user is the assignee. "
    "Assign them to their manager."
)


@pytest.fixture(scope="session")
def core() -> Catalog:
    return load_catalog("core")


@pytest.fixture
def example() -> dict:
    """The spec's example (the paper's Figure 1) as a fresh JSON object per test."""
    return copy.deepcopy(json.loads((FIXTURES / "inactive-user-incidents.json").read_text()))
