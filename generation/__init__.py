"""The paper's AI layer: the vLLM engine and the two-stage, grammar-constrained pipeline."""
