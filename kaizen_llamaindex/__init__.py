"""LlamaIndex components for Kaizen."""
