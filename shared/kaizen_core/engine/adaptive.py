"""Adaptive encoding (``format="auto"``): the fewest tokens for the target model.

Rules, per block (a whole payload, an embedded JSON block, a tool result, a node):

1. Render the value as *adaptive KTOF* (:mod:`.auto_encoder`): TOON's layout with

   * relaxed quoting: strings are quoted only where the decoder would misread them (a value
     after ``key:`` may hold colons, ``-``, ``#`` and delimiters; timestamps and URLs stay bare);
   * TOON tables wherever rows share keys *in the same order* (TOON's own table test ignores
     order; ours keeps it so decoded objects keep their key order);
   * extended tables (:mod:`.tables`) for arrays of objects that TOON writes as list items:
     semi-uniform rows get optional columns (``error?{message,stack}``), nested arrays of
     uniform objects become nested-table cells (``items[]{sku,qty}`` with ``[["A",1]]``),
     anything else irregular a compact-JSON cell (``meta[]``). An extended table is used
     only when at least half of its cells are present and one column is in every row.
   * subtrees no table fits are written as TOON objects and list items.

2. Candidates are compared with the target model's tokenizer (``bpe-openai``; other models
   use the o200k_base estimate) and the fewest tokens wins:

   * adaptive KTOF with the requested delimiter;
   * adaptive KTOF with ``,`` and ``\\t`` when the block is at least 4 KB or some cell had to be
     quoted because it holds the delimiter (below that the delimiters differ by a token or two).
     From 32 KB of JSON the delimiter is chosen beforehand on a *thinned* copy (every array or
     object of more than 48 items cut to about 24 evenly spaced ones), rendered with each delimiter
     and switched to under rule 3's threshold; only the chosen one is rendered in full.
     ``|`` is rendered only when it is the requested delimiter: tab quotes no cell that ``|``
     leaves bare (a cell holding a tab is quoted for its escape under any delimiter), so
     ``|`` could only win on how the tokenizer merges it with its neighbours, and it has
     the fewest tokens on none of the benchmark's blocks (``make bench``, "Delimiters");
   * compact JSON, unless the KTOF text is under 75% of the JSON's characters (measured on the
     benchmark shapes: KTOF then always has fewer tokens);
   * ``toon-format``'s own output when an extended table was written (so the result is never
     worse than plain TOON).

3. Blocks holding large uniform tables (:mod:`.fast_tables`: a list of at least 32 objects,
   or an object of at least 32 objects, at the root or up to three object levels down) take
   a faster route when every such table is one adaptive output writes as TOON does (same
   keys in the same order in every row, TOON-uniform columns):

   * the tables' rows are rendered by the compiled ``etoon`` encoder and adapted to the
     adaptive renderer's output (its header, relaxed quoting, indentation): byte for byte
     what the Python renderer writes;
   * the delimiter is chosen on a *sample* of evenly spaced rows per table (about a 64th of
     their JSON, between 512 bytes and 2 KB, 4 to 96 rows), rendered with the requested delimiter,
     ``,`` and ``\\t``: another delimiter replaces the requested one only when its sample has
     at least 3 tokens and 0.3% fewer. Tokenizing costs far more per character than
     rendering, so the sample is kept to a small share of the table; the full text is
     rendered once, with the chosen delimiter, and not tokenized (a table too small to
     sample is its own sample and is counted exactly);
   * the chosen delimiter is remembered for the block's *table shapes* (where each table
     stands and its first row's keys; LRU, 256 entries), so the next block of the same
     shapes (the same tool's next result, the next page of a listing) is rendered once,
     with no sample and no token count. Every delimiter decodes exactly; a remembered one
     can only cost the few tokens a fresh comparison would save;
   * compact JSON is not a candidate: the route is taken only when the text is under 75% of
     the tables' JSON characters alone (otherwise the rules above apply in full);
   * these results are not cached (rendering costs less than computing the cache key).

4. Results are cached (LRU, 512 entries, blocks under 64 KB) by the value's compact JSON and
   the options, so a repeated system prompt or tool schema costs one compact JSON dump.

Indentation stays the caller's ``indent`` (so ``decode(text, indent=...)`` needs no guess),
and every candidate is read back exactly by :func:`kaizen_core.engine.decode`.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Any

from .auto_encoder import AutoEncoder
from .codec import compact_json_text, encode_toon
from .errors import KTOFEncodeError
from .fast_toon import encode_fast_toon
from .fast_tables import FastAutoEncoder, NotFast, prepare, table_shapes
from .tokens import counter_for, encoding_for_model

__all__ = ["clear_cache", "encode_adaptive", "encode_tables_fast", "render_auto"]

_CACHE: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_CACHE_LOCK = Lock()
_CACHE_SIZE = 512
_DELIMITERS: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_DELIMITERS_SIZE = 256
_CACHE_MAX_CHARS = 65536
_ALTERNATE_DELIMITERS_FROM = 4096
_THIN_FROM = 32768
_THIN_KEEP = 24
_JSON_WORTH_COUNTING = 0.75
SAMPLE_CHARS = 2048
_SWITCH_MIN_TOKENS = 3
_SWITCH_MIN_SHARE = 0.003


def _render(value: Any, indent: int, delimiter: str, length_marker: bool) -> AutoEncoder:
    encoder = AutoEncoder(indent, delimiter, length_marker)
    try:
        encoder.root(value)
    except RecursionError:
        raise KTOFEncodeError("Object is nested too deeply to encode") from None
    return encoder


def render_auto(value: Any, *, indent: int, delimiter: str, length_marker: bool) -> str:
    """Adaptive KTOF for an already normalized value, without the candidate search."""
    return "\n".join(_render(value, indent, delimiter, length_marker).lines)


def clear_cache(*, delimiters: bool = True) -> None:
    """Forget cached adaptive encodings and, unless ``delimiters=False``, the delimiters
    chosen for table shapes (rule 3)."""
    with _CACHE_LOCK:
        _CACHE.clear()
        if delimiters:
            _DELIMITERS.clear()


def _remembered_delimiter(key: tuple[Any, ...]) -> str | None:
    with _CACHE_LOCK:
        chosen = _DELIMITERS.get(key)
        if chosen is not None:
            _DELIMITERS.move_to_end(key)
        return chosen


def _remember_delimiter(key: tuple[Any, ...], chosen: str) -> None:
    with _CACHE_LOCK:
        _DELIMITERS[key] = chosen
        if len(_DELIMITERS) > _DELIMITERS_SIZE:
            _DELIMITERS.popitem(last=False)


def encode_adaptive(
    value: Any, *, indent: int, delimiter: str, length_marker: bool, model: str | None
) -> str:
    """Encode a normalized value with the fewest tokens for ``model`` (rules in the module doc)."""
    if not isinstance(value, (dict, list)) or not value:
        return encode_toon(value, indent=indent, delimiter=delimiter, length_marker=length_marker)
    compact = compact_json_text(value)
    encoding = encoding_for_model(model)[0]
    key = (compact, indent, delimiter, length_marker, encoding)
    cacheable = len(compact) <= _CACHE_MAX_CHARS
    if cacheable:
        with _CACHE_LOCK:
            hit = _CACHE.get(key)
            if hit is not None:
                _CACHE.move_to_end(key)
                return hit
    result = _choose(value, compact, indent, delimiter, length_marker, model)
    if cacheable:
        with _CACHE_LOCK:
            _CACHE[key] = result
            if len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return result


def _choose(
    value: Any, compact: str, indent: int, delimiter: str, length_marker: bool, model: str | None
) -> str:
    thin = len(compact) >= _THIN_FROM
    if thin:
        delimiter = _thinned_choice(value, indent, delimiter, length_marker, model)
    first = _render(value, indent, delimiter, length_marker)
    text = "\n".join(first.lines)
    candidates = [text]
    alternates = len(text) >= _ALTERNATE_DELIMITERS_FROM or first.split_quotes
    if first.delimited and alternates and not thin:
        for other in (",", "\t"):
            if other != delimiter:
                candidates.append(
                    render_auto(value, indent=indent, delimiter=other, length_marker=length_marker)
                )
    if len(text) >= _JSON_WORTH_COUNTING * len(compact):
        candidates.append(compact)
    if first.extended_tables:
        toon = encode_fast_toon(
            value, indent=indent, delimiter=delimiter, length_marker=length_marker
        )
        if toon is None:
            toon = encode_toon(
                value, indent=indent, delimiter=delimiter, length_marker=length_marker
            )
        candidates.append(toon)
    if len(candidates) == 1:
        return text
    count = counter_for(model)
    return min(candidates, key=count)


def _thinned(value: Any) -> Any:
    """``value`` with every array or object of more than twice ``_THIN_KEEP`` items (entries)
    cut to about ``_THIN_KEEP`` evenly spaced ones (rule 2)."""
    if type(value) is list:
        if len(value) > 2 * _THIN_KEEP:
            value = value[:: -(-len(value) // _THIN_KEEP)]
        return [_thinned(item) for item in value]
    if type(value) is dict:
        items = list(value.items())
        if len(items) > 2 * _THIN_KEEP:
            items = items[:: -(-len(items) // _THIN_KEEP)]
        return {key: _thinned(item) for key, item in items}
    return value


def _thinned_choice(
    value: Any, indent: int, delimiter: str, length_marker: bool, model: str | None
) -> str:
    """The delimiter for a large block, compared on its thinned copy (rule 2)."""
    sample = _thinned(value)
    first = _render(sample, indent, delimiter, length_marker)
    if not first.delimited:
        return delimiter
    count = counter_for(model)
    counts = {delimiter: count("\n".join(first.lines))}
    for other in (",", "\t"):
        if other != delimiter:
            counts[other] = count(
                render_auto(sample, indent=indent, delimiter=other, length_marker=length_marker)
            )
    return _switch(counts, delimiter)


def _switch(counts: dict[str, int], delimiter: str) -> str:
    """The delimiter with the fewest tokens in ``counts``, if it saves enough over the
    requested one (at least 3 tokens and 0.3%), else the requested one."""
    best = min(counts, key=counts.__getitem__)
    saving = counts[delimiter] - counts[best]
    if saving < max(_SWITCH_MIN_TOKENS, _SWITCH_MIN_SHARE * counts[delimiter]):
        return delimiter
    return best


def _render_fast(
    value: Any,
    indent: int,
    delimiter: str,
    length_marker: bool,
    sample_chars: int | None,
    memo: dict[tuple[str, int], Any],
) -> FastAutoEncoder | None:
    encoder = FastAutoEncoder(
        indent, delimiter, length_marker, sample_chars=sample_chars, strict=True, memo=memo
    )
    try:
        encoder.root(value)
    except (NotFast, RecursionError):
        return None
    if not encoder.fast_tables or encoder.extended_tables:
        return None
    return encoder


def encode_tables_fast(
    data: Any, *, indent: int, delimiter: str, length_marker: bool, model: str | None
) -> str | None:
    """Adaptive output for a block of large uniform tables (rule 3 above), or None.

    ``data`` is the caller's value, not yet normalized. None means the general rules apply.
    """
    shapes = table_shapes(data)
    if not shapes:
        return None
    try:
        value = prepare(data)
    except (KTOFEncodeError, RecursionError):
        return None  # the general path raises its own error
    memo: dict[tuple[str, int], Any] = {}
    key = (shapes, indent, delimiter, length_marker, encoding_for_model(model)[0])
    best = _remembered_delimiter(key)
    if best is not None:
        full = _render_fast(value, indent, best, length_marker, None, memo)
        if full is None:
            return None
        text = "\n".join(full.lines)
    else:
        chosen = _compare_delimiters(value, indent, delimiter, length_marker, model, memo)
        if chosen is None:
            return None
        best, full, text = chosen
        _remember_delimiter(key, best)
    if len(text) >= _JSON_WORTH_COUNTING * full.fast_json_chars:
        return None
    return text


def _compare_delimiters(
    value: Any,
    indent: int,
    delimiter: str,
    length_marker: bool,
    model: str | None,
    memo: dict[tuple[str, int], Any],
) -> tuple[str, FastAutoEncoder, str] | None:
    """Samples rendered with each delimiter, counted: the best delimiter and its full text."""
    delimiters = [delimiter] + [other for other in (",", "\t") if other != delimiter]
    samples: dict[str, FastAutoEncoder] = {}
    for option in delimiters:
        sample = _render_fast(value, indent, option, length_marker, SAMPLE_CHARS, memo)
        if sample is None:
            return None
        samples[option] = sample
    count = counter_for(model)
    texts = {option: "\n".join(sample.lines) for option, sample in samples.items()}
    counts = {option: count(text) for option, text in texts.items()}
    if not samples[delimiter].sampled:
        best = min(delimiters, key=counts.__getitem__)
        return best, samples[best], texts[best]
    best = _switch(counts, delimiter)
    full = _render_fast(value, indent, best, length_marker, None, memo)
    if full is None:
        return None
    return best, full, "\n".join(full.lines)
