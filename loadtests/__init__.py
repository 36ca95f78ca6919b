"""Load tests (not tests: `python -m loadtests.run`); results in docs/serving.md."""
