"""Offline learning: SFT data and LoRA fine-tuning of the generator, the retriever and the out-of-scope gate."""
