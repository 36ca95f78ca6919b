"""What the trainer's savings are worth on this machine: one LoRA step, variants side by side.

    python benchmarks/training_bench.py [--steps 3] [--examples var/training/sft/train.jsonl]

The same batches of real SFT examples (length-grouped as the trainer groups them), the default
model, peft LoRA r=16; per variant, the median seconds per step and tokens/s, in one run,
alternating variants so that a busy machine hurts them alike:
- full head, bf16: the LM head on every position, loss masked to the completion (the usual recipe);
- full head, fp32: the same in float32 (a CPU without AVX-512 BF16 has no fast bf16 matmul);
- sliced head, fp32: the head only on the completion positions (`training.sft.completion_loss`);
- sliced head, fp32, LoRA on the top 9 of 18 layers (the backward pass stops halfway): the CPU config;
- the same in bf16 (the base weights; peft keeps the adapter in fp32): for a CPU with AVX-512 BF16 or AMX.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from flowgen.evaluation.records import load_models
from flowgen.settings import Settings
from generation.model import base_model
from training.sft import TrainConfig, collate, completion_loss, plan_batches, tokenize
from training.sft_data import SFTExample

VARIANTS = (
    ("full head, bf16", torch.bfloat16, None),
    ("full head, fp32", torch.float32, None),
    ("sliced head, fp32", torch.float32, None),
    ("sliced head, fp32, top 9 layers", torch.float32, 9),
    ("sliced head, bf16, top 9 layers", torch.bfloat16, 9),
)
MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def full_head_loss(model, ids, mask, starts):  # type: ignore[no-untyped-def]
    labels = ids.clone()
    labels[mask == 0] = -100
    for row, start in enumerate(starts):
        labels[row, :start] = -100
    return model(input_ids=ids, attention_mask=mask, labels=labels).loss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--examples", type=Path, default=Path("var/training/sft/train.jsonl"))
    args = parser.parse_args()
    folder = base_model(Settings())
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    examples = load_models(args.examples, SFTExample)[:200]
    config = TrainConfig()
    data = tokenize(tokenizer, examples, config.max_length)
    batches = plan_batches([len(d[0]) for d in data], config, random.Random(0))[: args.steps]
    variants = {}
    for name, dtype, top in VARIANTS:
        base = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype)
        layers = list(range(18 - top, 18)) if top else None
        model = get_peft_model(
            base, LoraConfig(r=16, lora_alpha=32, target_modules=MODULES, layers_to_transform=layers)
        )
        variants[name] = (model, torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4))
    times: dict[str, list[float]] = {name: [] for name in variants}
    tokens = [int(collate(data, b, 0)[1].sum()) for b in batches]
    for batch in batches:
        ids, mask, starts = collate(data, batch, tokenizer.pad_token_id)
        for name, (model, optimizer) in variants.items():
            clock = time.perf_counter()
            loss = (
                full_head_loss(model, ids, mask, starts)
                if name.startswith("full head")
                else completion_loss(model, ids, mask, starts)[0]
            )
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            times[name].append(time.perf_counter() - clock)
    mean_tokens = statistics.mean(tokens)
    print(f"{len(batches)} batches, {mean_tokens:.0f} tokens each (median step time, tokens/s, speed-up)")
    reference = statistics.median(times[VARIANTS[0][0]])
    for name, seconds in times.items():
        step = statistics.median(seconds)
        print(f"| {name} | {step:.1f} s | {mean_tokens / step:.0f} | {reference / step:.2f}x |")


if __name__ == "__main__":
    main()
