"""The HTTP service: a Ray Serve application of an ingress, a retriever and an LLM deployment."""
