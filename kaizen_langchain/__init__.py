"""LangChain components for Kaizen."""
