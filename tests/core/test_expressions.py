"""flowgen/expressions.py: changing the terms of an encoded query or of field values one by one."""

from __future__ import annotations

import pytest

from flowgen.expressions import with_terms


@pytest.mark.parametrize(
    ("old", "new", "result"),
    [
        ("priority=1", "priority=2", "priority=2"),
        ("category=inquiry^assignment_group=Service Desk", "priority=4",
         "category=inquiry^assignment_group=Service Desk^priority=4"),  # a field added at the end
        ("active=true^opened_at<javascript:gs.daysAgoStart(30)", "opened_at<javascript:gs.daysAgoStart(60)",
         "active=true^opened_at<javascript:gs.daysAgoStart(60)"),  # replaced in place, any operator
        ("state=4^priority>1^priority<4", "priority=2^state=3", "state=3^priority=2"),  # all of a field's terms go
        ("abnormal_flagINhigh,low,critical", "abnormal_flag=critical", "abnormal_flag=critical"),
        ("priority=1^ORpriority=2", "state=3", "state=3"),  # OR: the terms do not stand alone, new as it is
    ],
)  # fmt: skip
def test_the_fields_named_are_changed_and_the_others_kept_in_place(old: str, new: str, result: str) -> None:
    assert with_terms(old, new) == result
