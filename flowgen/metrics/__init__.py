"""FlowSim: ours (spec section 3) and ServiceNow's StarFlow variant, chosen by name."""

from collections.abc import Callable
from typing import Literal

from flowgen.metrics.flowsim import FlowSim, flowsim
from flowgen.metrics.starflow import starflow
from flowgen.workflow import Workflow

Variant = Literal["flowgen", "starflow"]
VARIANTS: dict[str, Callable[[Workflow, Workflow], FlowSim]] = {"flowgen": flowsim, "starflow": starflow}
