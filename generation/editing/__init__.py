"""Refining a workflow by a follow-up message: an edit script (`script`), applied without touching what it does
not name (`apply`), written by the model under a grammar built from the workflow (`grammar`, `stage`)."""
