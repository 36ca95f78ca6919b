"""The application: an ingress composing the retriever and LLM deployments through handles.

`serve run serving.app:build` (or a config file in deploy/) builds it; settings come from FLOWGEN_*
environment variables, read once here and handed to every deployment.
"""

from __future__ import annotations

from ray.serve import Application

from flowgen.settings import Settings

from .ingress import Ingress
from .llm import LLMServer
from .retriever import RetrieverServer


def build(args: dict[str, str] | None = None) -> Application:
    """The builder `serve run` calls; `args` are unused: configuration is FLOWGEN_* environment variables."""
    return application(Settings())


def application(settings: Settings) -> Application:
    # Replicas may run in another working directory: hand them absolute paths.
    paths = {"data_dir": settings.data_dir.resolve(), "catalog_dir": settings.catalog_dir.resolve()}
    settings = settings.model_copy(update=paths)
    return Ingress.bind(RetrieverServer.bind(settings), LLMServer.bind(settings), settings)
