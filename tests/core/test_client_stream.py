"""Streams: ``prompts_encode_stream`` (KTOF lines of a large array as produced) and
``prompts_decode_stream`` (values as they complete from incoming text chunks)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kaizen_core import KaizenClient, KaizenDecodeError, KaizenSyncClient
from kaizen_core.engine import decode, encode

try:
    from .engine_strategies import JSON_VALUES
except ImportError:  # pytest's rootdir import mode
    from engine_strategies import JSON_VALUES  # type: ignore[no-redef]

ROWS = [{"id": i, "name": f"user {i}", "score": i / 4} for i in range(200)]
OPTIONS = st.fixed_dictionaries(
    {"indent": st.sampled_from([1, 2, 4]), "delimiter": st.sampled_from([",", "\t", "|"]),
     "length_marker": st.booleans()}
)  # fmt: skip


@pytest.fixture
def sync_client() -> Iterator[KaizenSyncClient]:
    with KaizenSyncClient(mode="embedded") as client:
        yield client


@settings(max_examples=100, deadline=None)
@given(items=st.lists(JSON_VALUES, max_size=6), options=OPTIONS)
def test_encode_stream_lines_join_to_the_whole_encoding(items: list[Any], options: dict[str, Any]) -> None:
    with KaizenSyncClient(mode="embedded") as client:
        lines = list(client.prompts_encode_stream(items, options=options))
    assert "\n".join(lines) == encode(items, **options)


def test_encode_stream_encodes_item_by_item(sync_client: KaizenSyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first lines are out after one item was encoded, not the whole array."""
    import kaizen_core._streams as streams

    calls: list[int] = []
    real_encode = streams.engine.encode

    def counting_encode(value: Any, **options: Any) -> str:
        calls.append(len(value))
        return real_encode(value, **options)

    monkeypatch.setattr(streams.engine, "encode", counting_encode)
    lines = sync_client.prompts_encode_stream(ROWS)
    header, first_row = next(lines), next(lines)
    assert header == "[200]{id,name,score}:" and first_row == "  0,user 0,0"
    assert calls == [1]  # one single-item encode so far
    rest = list(lines)
    assert len(calls) == len(ROWS) and max(calls) == 1
    assert decode("\n".join([header, first_row, *rest])) == ROWS


async def test_async_encode_stream_from_an_async_iterator() -> None:
    async def produce() -> AsyncIterator[dict[str, Any]]:
        for row in ROWS[:10]:
            yield row

    async with KaizenClient(mode="embedded") as client:
        lines = [line async for line in client.prompts_encode_stream(produce(), options={"delimiter": "|"})]
    assert "\n".join(lines) == encode(ROWS[:10], delimiter="|")


def chunks_of(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 7, 64, 10_000])
def test_decode_stream_yields_every_row_in_order(sync_client: KaizenSyncClient, size: int) -> None:
    text = encode(ROWS)
    values = list(sync_client.prompts_decode_stream(chunks_of(text, size)))
    assert values == ROWS


def test_decode_stream_yields_rows_before_the_input_ends(sync_client: KaizenSyncClient) -> None:
    text = encode(ROWS)
    fed: list[int] = []

    def source() -> Iterator[str]:
        for index, chunk in enumerate(chunks_of(text, 50)):
            fed.append(index)
            yield chunk

    stream = sync_client.prompts_decode_stream(source())
    first = next(stream)
    assert first == ROWS[0]
    assert len(fed) < len(chunks_of(text, 50))  # the first row came out mid-stream
    assert [first, *stream] == ROWS


async def test_async_decode_stream_over_async_chunks() -> None:
    async def llm_tokens() -> AsyncIterator[str]:
        for chunk in chunks_of(encode(ROWS[:30], delimiter="|"), 5):
            yield chunk

    async with KaizenClient(mode="embedded") as client:
        values = [value async for value in client.prompts_decode_stream(llm_tokens())]
    assert values == ROWS[:30]


def test_decode_stream_of_an_object_yields_its_rows_then_the_whole_value(sync_client: KaizenSyncClient) -> None:
    document = {"title": "report", "rows": ROWS[:3]}
    values = list(sync_client.prompts_decode_stream(chunks_of(encode(document), 9)))
    assert values == [*ROWS[:3], document]


def test_decode_stream_honours_the_options(sync_client: KaizenSyncClient) -> None:
    text = encode(ROWS[:5], indent=4, delimiter="\t")
    assert list(sync_client.prompts_decode_stream(chunks_of(text, 3), options={"indent": 4})) == ROWS[:5]
    with pytest.raises(KaizenDecodeError):
        list(sync_client.prompts_decode_stream(chunks_of(text, 3), options={"indent": 2}))


def test_decode_stream_error_has_line_and_column(sync_client: KaizenSyncClient) -> None:
    broken = "[3]{id,name}:\n  1,a\n   2,b\n"
    with pytest.raises(KaizenDecodeError) as caught:
        list(sync_client.prompts_decode_stream(chunks_of(broken, 4)))
    assert caught.value.line == 3 and caught.value.column is not None
    assert caught.value.text == broken


@settings(max_examples=100, deadline=None)
@given(value=JSON_VALUES, size=st.integers(min_value=1, max_value=40), options=OPTIONS)
def test_decode_stream_property(value: Any, size: int, options: dict[str, Any]) -> None:
    """Chunked decoding ends with the same value as one-shot decoding: a root array streams
    exactly its elements; anything else ends with the whole value."""
    text = encode(value, **options)
    with KaizenSyncClient(mode="embedded") as client:
        values = list(client.prompts_decode_stream(chunks_of(text, size), options={"indent": options["indent"]}))
    whole = decode(text, indent=options["indent"])
    if isinstance(whole, list):
        assert values == whole
    else:
        assert values[-1] == whole


def test_decode_stream_error_reads_like_the_endpoint_error(sync_client: KaizenSyncClient) -> None:
    """Local stream decoding and ``prompts_decode`` report malformed KTOF alike."""
    broken = "[3]{id,name}:\n  1,a\n   2,b\n"
    with pytest.raises(KaizenDecodeError) as endpoint:
        sync_client.prompts_decode({"ktof": broken})
    with pytest.raises(KaizenDecodeError) as stream:
        list(sync_client.prompts_decode_stream(chunks_of(broken, 4)))
    assert stream.value.code == endpoint.value.code == "ktof_decode_error"
    assert stream.value.detail == endpoint.value.detail
    assert stream.value.detail.startswith("Malformed KTOF at line 3, column 4: ")
