"""A plain transformers model and a peft adapter (runtime `transformers`), constrained by outlines.

It evaluates a training checkpoint as saved (`flowgen predict` with `FLOWGEN_ENGINE__RUNTIME=transformers`),
with no conversion and no vLLM start, and runs where vLLM does not install. Calls run one at a time
(no batching, no prefix cache): an evaluation runtime, not the serving engine.

outlines couples the model to a logits processor per request, so unlike vLLM (one library per engine)
the structured-output library is chosen per constraint (`backend_for`), by `benchmarks/outlines_bench.py`.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Literal

from .base import Completion, Engine

Backend = Literal["outlines_core", "llguidance", "xgrammar"]
CACHED_PROCESSORS = 64  # compiled constraints kept for a schema that recurs (a repeated requirement, benchmarks)


def backend_for(schema: dict[str, Any]) -> Backend:
    """The library that enforces `schema`, as measured (docs/generation.md, "outlines on checkpoints").

    Every schema is new, so compile time counts per call. The recursive stage-1 outline (about 150
    tokens): xgrammar, compiled in 0.1 s, the cheapest per token (0.94 of unconstrained speed;
    llguidance 0.88; outlines_core cannot index its 1.2M-character regex). A flat stage-2 object
    (about 25 tokens): llguidance, with no compile step (xgrammar 0.8 s, outlines_core 22 s over
    Gemma's 262k-token vocabulary).
    """
    return "xgrammar" if "$defs" in schema else "llguidance"


class CheckpointEngine(Engine):
    def __init__(
        self, model: Path, lora: Path | None = None, dtype: str = "bfloat16", backend: Backend | None = None
    ) -> None:
        """`dtype`: the served one, so that a checkpoint is scored with the numerics it will be served with.
        `backend`: one library for every constraint (benchmarks); default: `backend_for` each."""
        import outlines
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model = model
        self.backend = backend
        tokenizer = AutoTokenizer.from_pretrained(str(model))
        hf = AutoModelForCausalLM.from_pretrained(str(model), dtype=getattr(torch, dtype))
        if lora is not None:
            from peft import PeftModel

            hf = PeftModel.from_pretrained(hf, str(lora))
        hf.eval()
        self.hf = hf
        self.tokenizer = tokenizer
        self._ends = set(_as_list(hf.generation_config.eos_token_id)) | {tokenizer.eos_token_id}
        self.outlines_model = outlines.from_transformers(hf, tokenizer)
        self._backends: dict[Backend, Any] = {}
        self._processors: OrderedDict[tuple[Backend, str], Any] = OrderedDict()
        self._lock = threading.Lock()  # one generation at a time; HF generate is not re-entrant

    async def complete(
        self, prompt: str, schema: dict[str, Any] | None, max_tokens: int, min_tokens: int = 0
    ) -> Completion:
        """Greedy completion, constrained to `schema` when given; a cancelled caller stops it at the next token."""
        stop = threading.Event()
        try:
            return await asyncio.to_thread(self._generate, prompt, schema, max_tokens, min_tokens, stop)
        except asyncio.CancelledError:
            stop.set()
            raise

    def _generate(
        self, prompt: str, schema: dict[str, Any] | None, max_tokens: int, min_tokens: int, stop: threading.Event
    ) -> Completion:
        import torch
        from transformers import LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

        class Cancelled(StoppingCriteria):
            def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
                return torch.full((input_ids.shape[0],), stop.is_set(), dtype=torch.bool)

        with self._lock:
            processors = LogitsProcessorList([self.processor(schema)] if schema is not None else [])
            inputs = self.tokenizer(prompt, return_tensors="pt")
            with torch.inference_mode():
                out = self.hf.generate(
                    **inputs,
                    max_new_tokens=max_tokens,
                    min_new_tokens=min_tokens,
                    do_sample=False,
                    logits_processor=processors,
                    stopping_criteria=StoppingCriteriaList([Cancelled()]),
                    pad_token_id=self.tokenizer.pad_token_id,
                )
        new = out[0, inputs["input_ids"].shape[1] :].tolist()
        finished = bool(new) and new[-1] in self._ends
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        return Completion(text=text, tokens=len(new), finish_reason="stop" if finished else "length")

    def processor(self, schema: dict[str, Any]) -> Any:
        """The outlines logits processor for `schema`, compiled once and reset for each generation."""
        backend = self.backend or backend_for(schema)
        key = (backend, json.dumps(schema))  # not sorted: the order of properties is the order the grammar enforces
        found = self._processors.pop(key, None)
        if found is None:
            found = self._compile(backend, key[1])
        self._processors[key] = found
        while len(self._processors) > CACHED_PROCESSORS:
            self._processors.popitem(last=False)
        found.reset()
        return found

    def _compile(self, backend: Backend, schema: str) -> Any:
        """Compact JSON in every library (no whitespace: a base model otherwise pads with spaces)."""
        if backend not in self._backends:
            from outlines.backends import LLGuidanceBackend, OutlinesCoreBackend, XGrammarBackend

            kind = {"outlines_core": OutlinesCoreBackend, "llguidance": LLGuidanceBackend, "xgrammar": XGrammarBackend}
            self._backends[backend] = kind[backend](self.outlines_model)
        library = self._backends[backend]
        if backend == "outlines_core":
            return library.get_json_schema_logits_processor(schema, whitespace_pattern="")
        if backend == "llguidance":
            from llguidance import LLMatcher
            from outlines.backends.llguidance import LLGuidanceLogitsProcessor

            grammar = LLMatcher.grammar_from_json_schema(schema, defaults={"whitespace_flexible": False})
            return LLGuidanceLogitsProcessor(grammar, library.llg_tokenizer, "torch")
        from outlines.backends.xgrammar import XGrammarLogitsProcessor

        compiled = library.grammar_compiler.compile_json_schema(schema, any_whitespace=False, separators=(",", ":"))
        return XGrammarLogitsProcessor(compiled, "torch")

    async def close(self) -> None:
        """Nothing is bound to the caller's loop or runs in the background."""


def _as_list(value: int | list[int] | None) -> list[int]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
