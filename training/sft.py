"""LoRA supervised fine-tuning of a causal LM on prompt -> completion examples, resumable, on CPU or GPU.

The loss is on the completion tokens only, and the LM head runs only there: Gemma's 262k-token
vocabulary makes the head about 60% of a step's FLOPs when it runs on every position (measured in
docs/training.md). Examples are grouped by length into batches under a token budget (little
padding); LoRA may be limited to the top layers, which also stops the backward pass halfway.
On a CPU without AVX-512 BF16 (this one: AVX2) bf16 matrix products fall back to a slow kernel, so
the CPU config trains in float32 (benchmarks/training_bench.py); GPUs train in bf16.
A checkpoint (adapter, optimizer, scheduler, position in the data) is written every
`checkpoint_every` steps; a restarted run continues from the latest one.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from generation.model import ADAPTER_META, machine_dtype

from .sft_data import SFTExample


class TrainConfig(BaseModel):
    """One training run; `training/configs/*.json` hold the CPU and GPU ones."""

    lora_rank: int = 16
    lora_alpha: int = 32
    top_layers: int | None = Field(None, description="LoRA on the top N decoder layers only; None: all.")
    learning_rate: float = 2e-4
    warmup_steps: int = 10
    epochs: float = 1.0
    batch_tokens: int = Field(1600, description="Padded tokens per batch (rows x longest row).")
    max_rows: int = 8
    max_length: int = 768
    checkpoint_every: int = 25
    seed: int = 0
    dtype: str = Field("auto", description="The base weights' dtype; auto: bfloat16 where the CPU or GPU has it.")
    threads: int | None = Field(None, description="torch CPU threads; None: torch's default.")


class Batch(BaseModel):
    rows: list[int]


def tokenize(tokenizer: Any, examples: list[SFTExample], max_length: int) -> list[tuple[list[int], int]]:
    """(token ids, prompt length) per example, tokenized as at inference: the prompt (with <bos>), then the
    completion's tokens on their own, then the end token; examples longer than `max_length` lose their start."""
    out = []
    for ex in examples:
        prompt = tokenizer(ex.prompt)["input_ids"]
        completion = tokenizer(ex.completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        ids = prompt + completion
        cut = max(0, len(ids) - max_length)
        out.append((ids[cut:], max(1, len(prompt) - cut)))
    return out


def plan_batches(lengths: list[int], config: TrainConfig, rng: random.Random) -> list[list[int]]:
    """Batches of similar lengths under the token budget, in random order (one epoch)."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = max([lengths[j] for j in current] + [lengths[i]])
        if current and (longest * (len(current) + 1) > config.batch_tokens or len(current) >= config.max_rows):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


def completion_loss(model: Any, ids: Any, mask: Any, starts: list[int]) -> tuple[Any, int]:
    """Mean cross-entropy over the completion tokens, with the LM head applied to those positions only."""
    import torch

    base = model.get_base_model()
    hidden = base.model(input_ids=ids, attention_mask=mask).last_hidden_state
    rows, cols, targets = [], [], []
    for r, start in enumerate(starts):
        end = int(mask[r].sum())
        positions = torch.arange(start - 1, end - 1)
        rows.append(torch.full_like(positions, r))
        cols.append(positions)
        targets.append(ids[r, start:end])
    picked = hidden[torch.cat(rows), torch.cat(cols)]
    logits = base.lm_head(picked).float()
    cap = getattr(base.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    target = torch.cat(targets)
    return torch.nn.functional.cross_entropy(logits, target), int(target.numel())


def collate(data: list[tuple[list[int], int]], rows: list[int], pad: int) -> tuple[Any, Any, list[int]]:
    import torch

    longest = max(len(data[i][0]) for i in rows)
    ids = torch.full((len(rows), longest), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), longest), dtype=torch.long)
    for r, i in enumerate(rows):
        tokens = data[i][0]
        ids[r, : len(tokens)] = torch.tensor(tokens)
        mask[r, : len(tokens)] = 1
    return ids, mask, [data[i][1] for i in rows]


def latest_checkpoint(out: Path) -> Path | None:
    found = sorted((out / "checkpoints").glob("step-*"), key=lambda p: int(p.name.split("-")[1]))
    return found[-1] if found else None


def train(
    model_dir: Path,
    train_examples: list[SFTExample],
    dev_examples: list[SFTExample],
    config: TrainConfig,
    out: Path,
    on_step: Callable[[int, int, dict[str, float]], None] = lambda step, total, stats: None,
    init_adapter: Path | None = None,
) -> dict[str, Any]:
    """Train (or resume) a LoRA adapter on `model_dir`; writes `out/adapter` and returns its metrics.

    `init_adapter`: start from a trained adapter (continued training on more data: CPU time comes in
    session-sized pieces) instead of a fresh LoRA; its shape wins over the config's."""
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model

    torch.manual_seed(config.seed)
    tokenizer, model, pad = _loaded(model_dir, config)
    resume = latest_checkpoint(out)
    start = resume / "adapter" if resume is not None else init_adapter
    if start is not None:
        model = PeftModel.from_pretrained(model, str(start), is_trainable=True)
    else:
        layers = model.config.num_hidden_layers
        top = range(layers - config.top_layers, layers) if config.top_layers else None
        lora = LoraConfig(
            r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=0.0, task_type="CAUSAL_LM",
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
            layers_to_transform=list(top) if top else None,
        )  # fmt: skip
        model = get_peft_model(model, lora)
    data = tokenize(tokenizer, train_examples, config.max_length)
    dev = tokenize(tokenizer, dev_examples, config.max_length)
    epochs = math.ceil(config.epochs)
    schedule: list[list[int]] = []
    for epoch in range(epochs):
        schedule += plan_batches([len(d[0]) for d in data], config, random.Random(f"{config.seed}:{epoch}"))
    total = max(1, int(len(schedule) * config.epochs / epochs))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)

    def rate(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        return max(0.0, (total - step) / max(1, total - config.warmup_steps))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    state: dict[str, Any] = {"step": 0, "seconds": 0.0, "tokens": 0, "trained_tokens": 0, "losses": []}
    if resume is not None:
        optimizer.load_state_dict(torch.load(resume / "optimizer.pt", weights_only=True))
        scheduler.load_state_dict(torch.load(resume / "scheduler.pt", weights_only=True))
        state = json.loads((resume / "state.json").read_text())
    model.train()
    while state["step"] < total:
        clock = time.perf_counter()
        ids, mask, starts = collate(data, schedule[state["step"]], pad)
        loss, trained = completion_loss(model, ids, mask, starts)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        state["step"] += 1
        state["seconds"] += time.perf_counter() - clock
        state["tokens"] += int(mask.sum())
        state["trained_tokens"] += trained
        state["losses"].append(round(loss.detach().item(), 4))
        on_step(state["step"], total, {"loss": state["losses"][-1], "tokens_per_s": state["tokens"] / state["seconds"]})
        if state["step"] % config.checkpoint_every == 0 or state["step"] == total:
            _checkpoint(model, optimizer, scheduler, state, out)
    metrics = {
        "steps": total,
        "examples": len(train_examples),
        "train_seconds": round(state["seconds"], 1),
        "tokens_per_s": round(state["tokens"] / max(state["seconds"], 1e-9), 1),
        "completion_tokens_per_s": round(state["trained_tokens"] / max(state["seconds"], 1e-9), 1),
        "final_train_loss": round(sum(state["losses"][-20:]) / max(1, len(state["losses"][-20:])), 4),
        "dev_loss": round(dev_loss(model, dev, pad), 4) if dev else None,
        "config": config.model_dump(),
        "model": model_dir.name,  # the weights it was trained on (an edit adapter is served on those only)
        "init_adapter": _lineage(init_adapter),
    }
    adapter = out / "adapter"
    tmp = out / ".adapter.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    (tmp / ADAPTER_META).write_text(json.dumps(metrics, indent=1) + "\n")
    shutil.rmtree(adapter, ignore_errors=True)
    tmp.rename(adapter)
    return metrics


def _lineage(init_adapter: Path | None) -> dict[str, Any] | None:
    """The metrics of the adapter a continued run started from (None for a fresh one)."""
    if init_adapter is None:
        return None
    meta = init_adapter / ADAPTER_META
    return json.loads(meta.read_text()) if meta.is_file() else {"path": str(init_adapter)}


def dev_loss(model: Any, dev: list[tuple[list[int], int]], pad: int, rows: int = 8) -> float:
    """Mean completion loss on the dev examples (the number checkpoints are compared by)."""
    import torch

    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(dev), rows):
            ids, mask, starts = collate(dev, list(range(i, min(i + rows, len(dev)))), pad)
            loss, n = completion_loss(model, ids, mask, starts)
            total += loss.item() * n
            count += n
    model.train()
    return total / max(count, 1)


def adapter_dev_loss(model_dir: Path, adapter: Path, dev_examples: list[SFTExample], config: TrainConfig) -> float:
    """`dev_loss` of a trained adapter on `model_dir`, as `train` reports it: adapters trained on different dev sets
    (the data changed between them) are compared on one."""
    from peft import PeftModel

    tokenizer, model, pad = _loaded(model_dir, config)
    model = PeftModel.from_pretrained(model, str(adapter))
    return dev_loss(model, tokenize(tokenizer, dev_examples, config.max_length), pad)


def _loaded(model_dir: Path, config: TrainConfig) -> tuple[Any, Any, int]:
    """The tokenizer, the model in the config's dtype (on its threads) and the padding id, for training and scoring
    alike."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if config.threads:
        torch.set_num_threads(config.threads)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=getattr(torch, machine_dtype(config.dtype)))
    return tokenizer, model, tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0


def _checkpoint(model: Any, optimizer: Any, scheduler: Any, state: dict[str, Any], out: Path) -> None:
    """Write a checkpoint whole (temp folder, then rename) and keep only the two newest."""
    import torch

    folder = out / "checkpoints" / f"step-{state['step']}"
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(str(tmp / "adapter"))
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    (tmp / "state.json").write_text(json.dumps(state))
    tmp.rename(folder)
    for old in sorted((out / "checkpoints").glob("step-*"), key=lambda p: int(p.name.split("-")[1]))[:-2]:
        shutil.rmtree(old)
