"""The simulation: models catalog, timing, stream pacing, generation (``render``), the simulated cluster
and KV events, LoRA adapters, and the background jobs (batches, fine-tuning, vector indexing)."""
