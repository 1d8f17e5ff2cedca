"""LangChain components for Kaizen: JSON in prompts travels as KTOF (fewer tokens).

>>> from kaizen_langchain import kaizen_encode, kaizen_decode, ChatKaizen  # doctest: +SKIP
>>> chain = kaizen_encode | llm | kaizen_decode                            # doctest: +SKIP
"""

from .callbacks import KaizenCallbackHandler, ModelSavings, kaizen_usage
from .chat_models import ChatKaizen
from .document_compressors import KaizenDocumentCompressor
from .output_parsers import KaizenDecode, KaizenOutputParserException, kaizen_decode
from .runnables import KaizenEncode, kaizen_encode

__all__ = [
    "ChatKaizen",
    "KaizenCallbackHandler",
    "KaizenDecode",
    "KaizenDocumentCompressor",
    "KaizenEncode",
    "KaizenOutputParserException",
    "ModelSavings",
    "kaizen_decode",
    "kaizen_encode",
    "kaizen_usage",
]
