"""FlowGen: natural-language requirements to low-code enterprise workflows."""

__version__ = "0.1.0"
