"""The paper's RAG layer: a Qdrant index per catalog, suggesting steps and artifacts."""
