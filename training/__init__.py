"""Base model, dialogue data, LoRA training, voice evaluation and the trained adapters."""
