"""The one settings object: environment variables prefixed FLOWGEN_, defaults that run on this machine."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from flowgen.catalog.store import DEFAULT_ROOT


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLOWGEN_", env_nested_delimiter="__", extra="ignore")

    catalog_dir: Path = Field(DEFAULT_ROOT, description="Catalog root: core/ and tenants/<name>/.")
    data_dir: Path = Field(Path("var"), description="Where built datasets, indexes and models are kept.")
