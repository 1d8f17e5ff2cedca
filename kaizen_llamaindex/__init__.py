"""LlamaIndex components for Kaizen: JSON in RAG context and chat messages goes in as KTOF.

- :class:`KaizenNodePostprocessor` rewrites retrieved nodes' JSON to KTOF.
- :class:`KaizenLLM` wraps any LlamaIndex LLM (a :class:`KaizenFunctionCallingLLM` for
  function-calling LLMs) and rewrites the JSON in its messages and prompts.
- :class:`KaizenOutputParser` asks for KTOF answers and reads them back.
- :class:`KaizenSavingsHandler` sums the tokens saved, per model, from the
  :class:`KaizenEncodeEvent` events sent through LlamaIndex's instrumentation dispatcher.
"""

from kaizen_llamaindex.instrumentation import (
    KaizenDecodeEvent,
    KaizenEncodeEvent,
    KaizenSavingsHandler,
    ModelSavings,
)
from kaizen_llamaindex.llms import KaizenFunctionCallingLLM, KaizenLLM
from kaizen_llamaindex.output_parsers import KaizenOutputParser, KaizenOutputParserError
from kaizen_llamaindex.postprocessors import KaizenNodePostprocessor

__all__ = [
    "KaizenDecodeEvent",
    "KaizenEncodeEvent",
    "KaizenFunctionCallingLLM",
    "KaizenLLM",
    "KaizenNodePostprocessor",
    "KaizenOutputParser",
    "KaizenOutputParserError",
    "KaizenSavingsHandler",
    "ModelSavings",
]
