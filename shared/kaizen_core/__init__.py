"""Kaizen core: the KTOF engine, the Kaizen REST contract, and the async HTTP client."""

__version__ = "0.1.0"
