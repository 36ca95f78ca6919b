"""The default model folder: every runtime tokenizes prompts with <bos> first, as Gemma was trained."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from transformers import AutoTokenizer

from flowgen.settings import Settings
from generation.model import SHIPPED_EDIT_ADAPTER, _bos_first, edit_adapter, ensure_default_model


def test_a_folder_converted_without_bos_is_repaired_once(tmp_path: Path) -> None:
    model = ensure_default_model(Settings().models_dir)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(model / name, tmp_path / name)
    spec = json.loads((tmp_path / "tokenizer.json").read_text())
    spec["post_processor"] = None  # what the GGUF conversion used to save
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec))
    assert AutoTokenizer.from_pretrained(str(tmp_path))("Every time")["input_ids"][0] != 2

    _bos_first(tmp_path)
    repaired = (tmp_path / "tokenizer.json").stat().st_mtime_ns
    _bos_first(tmp_path)  # already adds <bos>: nothing is rewritten

    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path))
    assert tokenizer("Every time")["input_ids"][0] == tokenizer.bos_token_id == 2
    assert (tmp_path / "tokenizer.json").stat().st_mtime_ns == repaired
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == []  # no temporary folder left


def test_the_shipped_edit_adapter_was_trained_on_the_shipped_model() -> None:
    """The two ship together: a stage adapter retrained without a new edit adapter would leave edits unserved."""
    assert edit_adapter(Settings()) == SHIPPED_EDIT_ADAPTER
    assert edit_adapter(Settings(engine={"fine_tuned": False})) is None  # the base model has no edit adapter
