"""Scoring predictions against references: FlowSim, structure / catalog errors, feature analysis."""
