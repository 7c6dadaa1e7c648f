"""Generation backends behind the `Generator` protocol: local (transformers + peft) and remote."""
