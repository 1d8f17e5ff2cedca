"""The KTOF engine: codec, adaptive encoding, streaming decoder, prompts, token counts.

KTOF is the TOON format (spec v4, via the official ``toon-format`` package) plus the
Kaizen service's options (``[#N]`` length markers) and the adaptive output of
``format="auto"``. Everything the engine writes, :func:`decode` reads back exactly.

>>> from kaizen_core.engine import encode, decode
>>> encode({"users": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}]})
'users[2]{id,name}:\\n  1,Ada\\n  2,Bob'
>>> decode("tags[#2]: a,b")
{'tags': ['a', 'b']}
"""

from .api import decode, encode
from .errors import KTOFDecodeError, KTOFEncodeError, KTOFOptionError
from .prompts import encode_json_blocks, encode_prompt, find_json_blocks, loads_exact
from .stats import compact_json, stats, token_stats
from .stream import LineCutter, StreamDecoder
from .tokens import TokenCount, count_tokens

__all__ = [
    "KTOFDecodeError",
    "KTOFEncodeError",
    "KTOFOptionError",
    "LineCutter",
    "StreamDecoder",
    "TokenCount",
    "compact_json",
    "count_tokens",
    "decode",
    "encode",
    "encode_json_blocks",
    "encode_prompt",
    "find_json_blocks",
    "loads_exact",
    "stats",
    "token_stats",
]
