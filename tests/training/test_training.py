"""training/: SFT data taken from the pipeline, the nested outline's inverse, and the LoRA trainer."""

from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowdata.catalogs import dataset_catalog, training_retrieval
from flowdata.splits import generated, handwritten, ood_sample
from flowgen.catalog import Catalog
from flowgen.cli import app
from flowgen.errors import FlowGenError
from flowgen.evaluation.harness import evaluate
from flowgen.evaluation.records import Prediction, Reference, write_jsonl
from flowgen.settings import Settings
from flowgen.workflow import Workflow
from generation.model import edit_adapter, ensure_default_model, ensure_merged, served_name
from generation.outline import Inexpressible, outline_schema, spans, to_outline, to_plan
from generation.pipeline import InProcess
from retrieval.suggest import Retriever
from tests.conftest import PAPER
from training.results import Done, Run, write_results
from training.sft import TrainConfig, adapter_dev_loss, completion_loss, latest_checkpoint, plan_batches, train
from training.sft_data import SFTExample, examples_of


def _expressible(refs: list[Reference], core: Catalog) -> list[tuple[Reference, dict]]:
    out = []
    for ref in refs:
        if isinstance(ref.expected, Workflow):
            with contextlib.suppress(Inexpressible):
                out.append((ref, to_outline(ref.expected, ref.requirement, core, numbered=True)))
    return out


def test_to_outline_inverts_to_plan(core: Catalog) -> None:
    """The outline target of a reference gives back its steps, nesting and tables through `to_plan`."""
    pairs = _expressible(handwritten("test"), core)
    assert len(pairs) >= 90  # nearly every hand-written workflow has a nested outline
    for ref, outline in pairs:
        plan = to_plan(outline, ref.requirement)
        assert [(s.name, s.parent) for s in plan.steps] == [(s.name, s.parent) for s in ref.expected.components]
        assert all(a.annotation in spans(ref.requirement) for a in plan.steps)
        for number, table in plan.tables.items():
            part = ref.expected.trigger if number == 0 else ref.expected.components[number - 1]
            assert {"name": "table", "value": table} in [i.model_dump() for i in part.inputs]


def test_outline_targets_fit_the_grammar_when_retrieval_is_perfect(core: Catalog) -> None:
    """With every expected step and table suggested, the target is an answer the stage-1 grammar accepts."""
    import jsonschema

    for ref, outline in _expressible(handwritten("test"), core)[:30]:
        steps = [s.name for s in ref.expected.components if s.name in core.actions]
        triggers = [ref.expected.trigger.type] if ref.expected.trigger else []
        schema = outline_schema(core, ref.requirement, triggers, steps, sorted(core.tables), numbered=True)
        jsonschema.validate(outline, schema)


def test_sft_examples_are_the_pipeline_calls(core_retriever: Retriever, run, example: dict) -> None:
    """One outline example and one per step with inputs to write, prompted as the pipeline prompts."""
    ref = Reference(id="paper", tenant="core", requirement=PAPER, expected=Workflow.model_validate(example))
    found, skipped = run.run(examples_of([ref], InProcess(core_retriever), "tuned"))
    assert not skipped
    outline = [e for e in found if e.stage == "outline"]
    assert len(outline) == 1 and outline[0].prompt.endswith("Outline: ")
    assert "clauses: 1 " in outline[0].prompt and "Example" not in outline[0].prompt
    assert [s.name for s in to_plan(json.loads(outline[0].completion), PAPER).steps] == [
        s.name for s in ref.expected.components
    ]
    by_step = {e.id.split(":")[1]: json.loads(e.completion) for e in found if e.stage == "inputs"}
    # the for_each's items and every chosen table are fixed without the model: not trained on
    assert by_step["3"] == {
        "record": "{{step_2.item}}",
        "field_values": "assigned_to={{record_update.current.manager}}",
    }
    assert all("table" not in values and "items" not in values for values in by_step.values())


def test_sft_examples_teach_an_inbound_emails_condition(core_retriever: Retriever, run) -> None:
    """Until stage 2 could write it, the pipeline made no call for it and no example taught it."""
    ref = next(r for r in handwritten("test") if r.expected.trigger and r.expected.trigger.type == "inbound_email")
    found, skipped = run.run(examples_of([ref], InProcess(core_retriever), "tuned"))
    trigger = next(json.loads(e.completion) for e in found if e.id.endswith(":0"))
    assert not skipped and trigger == {i.name: i.value for i in ref.expected.trigger.inputs}


def test_sft_examples_of_a_training_tenant_offer_and_answer_its_own_step(
    core_retriever: Retriever, run, tmp_path: Path
) -> None:
    """`flowgen train data`'s retriever: core's index with a training tenant added from the training catalog root.
    A reference with the tenant's own step gets it suggested, and the outline example answers with it."""
    catalog = dataset_catalog("hospitality")
    refs = generated(random.Random(3), catalog, 40, "train-hospitality", set(), lambda: None)
    ref = next(r for r in refs if catalog.tenant_ids & {s.name for s in r.expected.components})
    custom = sorted(catalog.tenant_ids & {s.name for s in ref.expected.components})
    retriever = Retriever(core_retriever.index, training_retrieval(Settings(data_dir=tmp_path)).catalog_dir)
    retriever.sync_tenant("hospitality")
    found, skipped = run.run(examples_of([ref], InProcess(retriever), "tuned"))
    assert not skipped
    outline = next(e for e in found if e.stage == "outline")
    assert all(name in outline.prompt for name in custom)
    assert [s.name for s in to_plan(json.loads(outline.completion), ref.requirement).steps] == [
        s.name for s in ref.expected.components
    ]


def test_batches_respect_the_token_budget() -> None:
    import random

    lengths = [random.Random(i).randint(50, 700) for i in range(300)]
    config = TrainConfig(batch_tokens=1600, max_rows=8)
    batches = plan_batches(lengths, config, random.Random(0))
    assert sorted(i for b in batches for i in b) == list(range(300))
    assert all(len(b) == 1 or (len(b) <= 8 and max(lengths[i] for i in b) * len(b) <= 1600) for b in batches)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-layer Gemma 3 with the real tokenizer, randomly initialised: the trainer's mechanics in seconds."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    real = ensure_default_model(Settings().data_dir / "models")
    config = AutoConfig.from_pretrained(str(real))
    small = {"num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 2}
    small |= {"num_key_value_heads": 1, "head_dim": 32, "layer_types": ["sliding_attention", "full_attention"]}
    config.update(small)
    folder = tmp_path_factory.mktemp("tiny") / "model"
    AutoModelForCausalLM.from_config(config).save_pretrained(str(folder))
    AutoTokenizer.from_pretrained(str(real)).save_pretrained(str(folder))
    return folder


EXAMPLES = [
    SFTExample(id=f"x{i}", stage="outline", prompt=f"Requirement: close incident {i}\nOutline: ",
               completion='{"trigger":{"type":"none"},"steps":[{"do":"update_record","a":1}]}')
    for i in range(12)
]  # fmt: skip


def test_loss_on_completion_positions_equals_the_full_head(tiny_model: Path) -> None:
    """Slicing the hidden states before the LM head changes the cost, not the loss."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.sft import collate, tokenize

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(str(tiny_model)), LoraConfig(r=4, target_modules=["q_proj"])
    )
    data = tokenize(tokenizer, EXAMPLES[:3] + [EXAMPLES[0].model_copy(update={"prompt": "Short: "})], 256)
    ids, mask, starts = collate(data, [0, 1, 2, 3], tokenizer.pad_token_id)
    sliced, count = completion_loss(model, ids, mask, starts)
    labels = ids.clone()
    labels[mask == 0] = -100
    for row, start in enumerate(starts):
        labels[row, :start] = -100
    full = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    assert count == int((labels != -100).sum())
    assert torch.allclose(sliced, full, atol=1e-4)


@pytest.mark.slow  # trains
def test_training_learns_resumes_and_merges(tiny_model: Path, tmp_path: Path) -> None:
    """The loss falls; an interrupted run resumes from its last checkpoint; the adapter merges into the model."""
    config = TrainConfig(epochs=6, batch_tokens=256, max_rows=4, checkpoint_every=3, learning_rate=5e-3,
                         warmup_steps=1, dtype="float32", top_layers=1)  # fmt: skip

    class Stop(Exception):
        pass

    def interrupt(step: int, total: int, stats: dict[str, float]) -> None:
        if step == 4:
            raise Stop

    with pytest.raises(Stop):
        train(tiny_model, EXAMPLES, EXAMPLES[:2], config, tmp_path, interrupt)
    checkpoint = latest_checkpoint(tmp_path)
    assert checkpoint is not None and checkpoint.name == "step-3"
    steps: list[int] = []
    metrics = train(tiny_model, EXAMPLES, EXAMPLES[:2], config, tmp_path, lambda s, t, stats: steps.append(s))
    assert steps[0] == 4 and steps[-1] == metrics["steps"]
    losses = json.loads((latest_checkpoint(tmp_path) / "state.json").read_text())["losses"]
    assert len(losses) == metrics["steps"] and losses[-1] < losses[0] - 0.5
    adapter = tmp_path / "adapter"
    assert json.loads((adapter / "flowgen.json").read_text())["dev_loss"] is not None
    # the dev loss of a trained adapter, computed again on a dev set: as training reported it
    assert adapter_dev_loss(tiny_model, adapter, EXAMPLES[:2], config) == pytest.approx(metrics["dev_loss"], abs=2e-4)
    merged = ensure_merged(tiny_model, adapter, tmp_path / "cache")
    assert ensure_merged(tiny_model, adapter, tmp_path / "cache") == merged  # cached by the adapter's content
    assert (merged / "tokenizer.json").is_file() and any(merged.glob("*.safetensors"))
    # continued training starts from the trained adapter (its loss, not a fresh LoRA's) and records it
    more: list[float] = []
    config = config.model_copy(update={"epochs": 1.0})
    again = train(tiny_model, EXAMPLES, [], config, tmp_path / "more", lambda s, t, stats: more.append(stats["loss"]),
                  init_adapter=adapter)  # fmt: skip
    assert more[0] < losses[0] - 0.5 and again["init_adapter"]["steps"] == metrics["steps"]
    assert metrics["model"] == tiny_model.name  # the weights it was trained on


@pytest.mark.slow  # trains three small adapters
def test_an_edit_adapter_trains_on_the_merged_model_and_is_served_on_it_only(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`flowgen train run --edit-adapter` trains on the edit examples alone, on the served model with its adapter
    merged, and records which; once the stage adapter is retrained it no longer fits and is refused."""
    config = TrainConfig(epochs=1, batch_tokens=256, max_rows=4, checkpoint_every=50, learning_rate=5e-3,
                         warmup_steps=1, dtype="float32", top_layers=1)  # fmt: skip
    train(tiny_model, EXAMPLES[:4], [], config, tmp_path / "stage")
    edits = [SFTExample(id=f"e{i}", stage="edit", prompt=f"Change: drop step {i}\nEdit: ",
                        completion=f'{{"ops":[{{"op":"delete","step":{i}}}]}}') for i in range(1, 7)]  # fmt: skip
    sft = tmp_path / "var" / "training" / "sft"
    write_jsonl(sft / "train.edit.jsonl", edits)
    write_jsonl(sft / "dev.edit.jsonl", edits[:2])
    (tmp_path / "config.json").write_text(config.model_dump_json())
    monkeypatch.setenv("FLOWGEN_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("FLOWGEN_ENGINE__MODEL", str(tiny_model))
    monkeypatch.setenv("FLOWGEN_ENGINE__LORA", str(tmp_path / "stage" / "adapter"))
    command = [
        "train",
        "run",
        "--edit-adapter",
        "--config",
        str(tmp_path / "config.json"),
        "--out",
        str(tmp_path / "edit"),
    ]
    done = CliRunner().invoke(app, command)
    assert done.exit_code == 0, done.output
    adapter = tmp_path / "edit" / "adapter"
    meta = json.loads((adapter / "flowgen.json").read_text())
    assert meta["examples"] == 6 and meta["model"] == served_name(Settings()) != tiny_model.name
    monkeypatch.setenv("FLOWGEN_ENGINE__EDIT_LORA", str(adapter))
    assert edit_adapter(Settings()) == adapter
    monkeypatch.setenv("FLOWGEN_ENGINE__MERGE_LORA", "false")  # one adapter per request: the two cannot stack
    with pytest.raises(FlowGenError, match="merged"):
        edit_adapter(Settings())
    monkeypatch.delenv("FLOWGEN_ENGINE__MERGE_LORA")
    train(tiny_model, EXAMPLES[4:8], [], config, tmp_path / "stage2")
    monkeypatch.setenv("FLOWGEN_ENGINE__LORA", str(tmp_path / "stage2" / "adapter"))
    with pytest.raises(FlowGenError, match="was trained on"):
        edit_adapter(Settings())
    monkeypatch.setenv("FLOWGEN_ENGINE__EDIT_ADAPTER", "false")
    assert edit_adapter(Settings()) is None


def test_ood_sample_is_fixed_and_stratified() -> None:
    ood = handwritten("ood")
    sample = ood_sample(ood, per_tenant=5)
    tenants = {r.tenant for r in ood}
    assert len(sample) == 5 * len(tenants) and {r.tenant for r in sample} == tenants
    assert ood_sample(list(reversed(ood)), per_tenant=5) == sample  # the same sample whatever the order


def test_results_render_every_finished_run(core: Catalog, tmp_path: Path) -> None:
    """A run's scores, errors and command land in docs/results.md's tables."""
    refs = [r for r in handwritten("test") if isinstance(r.expected, Workflow)][:3]
    preds = {r.id: Prediction(id=r.id, output=r.expected.model_dump(mode="json", exclude_none=True)) for r in refs}
    report = evaluate(refs, preds, lambda tenant: core)
    done = Done(run=Run(system="fine_tuned", split="test"), date="2026-12-01 15:00 UTC", command="flowgen results",
                report=report)  # fmt: skip
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / f"{done.run.name}.json").write_text(done.model_dump_json())
    text = write_results(tmp_path / "results.md").read_text()
    assert "| fine_tuned | test | real | 3 | 100.0 | 100.0 | 0.0 | 0.0 |" in text
    assert "`flowgen results`" in text and "### test" in text
    assert "Hand-written vs generated" not in text  # test is all hand-written: no split to show


def test_results_split_a_mixed_sample_by_where_its_references_come_from(core: Catalog, tmp_path: Path) -> None:
    """The ood sample mixes hand-written and generated references; the gap between them is shown per run."""
    refs = [r for r in handwritten("test") if isinstance(r.expected, Workflow)][:3]
    refs[2] = refs[2].model_copy(update={"source": "generated"})
    preds = {r.id: Prediction(id=r.id, output=r.expected.model_dump(mode="json", exclude_none=True)) for r in refs}
    preds[refs[2].id] = preds[refs[0].id].model_copy(update={"id": refs[2].id})  # another workflow: scores lower
    report = evaluate(refs, preds, lambda tenant: core)
    done = Done(run=Run(system="fine_tuned", split="ood_sample"), date="2026-12-02 12:00 UTC",
                command="flowgen results", report=report)  # fmt: skip
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / f"{done.run.name}.json").write_text(done.model_dump_json())
    text = write_results(tmp_path / "results.md").read_text()
    assert "| fine_tuned | ood_sample | real | handwritten | 2 | 100.0 | 100.0 |" in text
    generated = next(line for line in text.splitlines() if "| generated | 1 |" in line)
    assert "100.0" not in generated, generated
