"""KaizenNodePostprocessor: KTOF into the LLM's context, everything else about the nodes kept."""

from __future__ import annotations

import json
import re

import pytest
from kaizen_core.engine import count_tokens, decode
from llama_index.core import VectorStoreIndex
from llama_index.core.schema import (
    NodeRelationship,
    NodeWithScore,
    RelatedNodeInfo,
    TextNode,
)

from kaizen_llamaindex import KaizenNodePostprocessor, KaizenSavingsHandler

from .conftest import RecordingLLM

ROWS = [{"sku": f"A-{i}", "name": f"item {i}", "price": 1.5 * i, "stock": i % 4} for i in range(10)]
TABLE_HEADER = re.compile(r"\[\d+\]\{[^}]*\}:")  # KTOF's table header, e.g. [12]{order_id,...}:


def scored(text: str, score: float = 0.5, **node_fields: object) -> NodeWithScore:
    return NodeWithScore(node=TextNode(text=text, **node_fields), score=score)


@pytest.fixture
def postprocessor() -> KaizenNodePostprocessor:
    return KaizenNodePostprocessor()


def test_whole_json_node_becomes_ktof_and_decodes_to_the_same_value(
    postprocessor: KaizenNodePostprocessor,
) -> None:
    [out] = postprocessor.postprocess_nodes([scored(json.dumps(ROWS, indent=2))])
    assert TABLE_HEADER.search(out.node.get_content())
    assert decode(out.node.get_content()) == ROWS


def test_embedded_json_is_rewritten_in_place(postprocessor: KaizenNodePostprocessor) -> None:
    text = f"Stock report follows: {json.dumps(ROWS)}\nEnd of report."
    [out] = postprocessor.postprocess_nodes([scored(text)])
    content = out.node.get_content()
    assert content.startswith("Stock report follows: ")
    assert content.endswith("End of report.")
    assert '{"sku"' not in content and TABLE_HEADER.search(content)


def test_identity_metadata_relationships_and_score_are_kept(
    postprocessor: KaizenNodePostprocessor,
) -> None:
    source = RelatedNodeInfo(node_id="doc-1", metadata={"page": 3})
    original = scored(
        json.dumps(ROWS),
        score=0.8125,
        id_="node-42",
        metadata={"source": "catalog.json", "secret": "s3"},
        excluded_llm_metadata_keys=["secret"],
        excluded_embed_metadata_keys=["source"],
        relationships={NodeRelationship.SOURCE: source},
        embedding=[0.1, 0.2, 0.3],
    )
    [out] = postprocessor.postprocess_nodes([original])
    assert out.node.get_content() != original.node.get_content()
    assert out.score == 0.8125
    assert out.node.id_ == "node-42"
    assert out.node.metadata == {"source": "catalog.json", "secret": "s3"}
    assert out.node.excluded_llm_metadata_keys == ["secret"]
    assert out.node.excluded_embed_metadata_keys == ["source"]
    assert out.node.relationships == {NodeRelationship.SOURCE: source}
    assert out.node.embedding == [0.1, 0.2, 0.3]
    assert out.node.source_node.node_id == "doc-1"
    # the input node (the docstore's object) is untouched
    assert original.node.get_content() == json.dumps(ROWS)
    assert out.node is not original.node


def test_nodes_without_savings_are_passed_through_unchanged(
    postprocessor: KaizenNodePostprocessor, savings: KaizenSavingsHandler
) -> None:
    prose = scored("No structured data here, only words [and a bracket].")
    tiny = scored(
        '{"a": 1}'
    )  # encodes to "a: 1": saves characters but not a token? judged by tokens
    out = postprocessor.postprocess_nodes([prose, tiny])
    assert out[0] is prose
    before, after = (count_tokens(n.node.get_content(), "gpt-4o").tokens for n in (tiny, out[1]))
    assert after <= before  # only ever fewer tokens
    assert (out[1] is tiny) == (after == before)
    assert savings.encodes == (0 if out[1] is tiny else 1)


def test_text_that_is_not_quite_json_keeps_its_meaning(
    postprocessor: KaizenNodePostprocessor,
) -> None:
    """``NaN`` (Python's json.dumps writes it) is not JSON: the number is never sent on as null,
    whether the node is that text whole or holds it; nesting too deep to parse is no error."""
    rows = [{"sku": f"A-{i}", "price": "NaN" if i == 3 else 1.5 * i} for i in range(10)]
    with_nan = json.dumps(rows).replace('"NaN"', "NaN")
    whole, embedded = postprocessor.postprocess_nodes(
        [scored(with_nan), scored(f"rows: {with_nan} end")]
    )
    for out in (whole, embedded):
        assert '{"sku": "A-3", "price": NaN}' in out.node.get_content()
        assert "null" not in out.node.get_content()
    deep = scored("[" * 100_000)
    assert postprocessor.postprocess_nodes([deep])[0] is deep


@pytest.mark.parametrize("number", ["1e400", "0.123456789012345678", "12345678901234567.89"])
def test_numbers_a_float_would_change_reach_the_model_as_written(
    postprocessor: KaizenNodePostprocessor, number: str
) -> None:
    rows = [{"account": f"ACC-{i}", "balance": 10.5 * i} for i in range(10)]
    text = json.dumps(rows).replace("52.5", number)
    for node in (scored(text), scored(f"accounts: {text} end")):
        [out] = postprocessor.postprocess_nodes([node])
        assert out.node.get_content() == node.node.get_content()


def test_min_savings_ratio_is_the_threshold(savings: KaizenSavingsHandler) -> None:
    text = json.dumps(ROWS)
    before = count_tokens(text, "gpt-4o").tokens
    [kept] = KaizenNodePostprocessor().postprocess_nodes([scored(text)])
    ratio = 1 - count_tokens(kept.node.get_content(), "gpt-4o").tokens / before
    assert 0 < ratio < 0.99
    strict = KaizenNodePostprocessor(min_savings_ratio=min(ratio + 0.01, 0.99))
    node = scored(text)
    assert strict.postprocess_nodes([node])[0] is node
    loose = KaizenNodePostprocessor(min_savings_ratio=max(ratio - 0.01, 0.0))
    assert loose.postprocess_nodes([scored(text)])[0].node.get_content() == kept.node.get_content()
    assert savings.encodes == 2


def test_invalid_threshold_is_refused() -> None:
    with pytest.raises(ValueError):
        KaizenNodePostprocessor(min_savings_ratio=1.0)


async def test_async_path_gives_the_same_nodes(postprocessor: KaizenNodePostprocessor) -> None:
    nodes = [
        scored(json.dumps(ROWS), 0.9),
        scored("plain words", 0.4),
        scored(f"rows: {json.dumps(ROWS[:5])}", 0.3),
    ]
    sync_out = postprocessor.postprocess_nodes(nodes)
    async_out = await postprocessor.apostprocess_nodes(nodes)
    assert [n.node.get_content() for n in async_out] == [n.node.get_content() for n in sync_out]
    assert [n.score for n in async_out] == [0.9, 0.4, 0.3]


def test_events_carry_the_node_and_token_counts(
    postprocessor: KaizenNodePostprocessor, savings: KaizenSavingsHandler, event_log
) -> None:  # type: ignore[no-untyped-def]
    text = json.dumps(ROWS)
    postprocessor.postprocess_nodes([scored(text, id_="n1")])
    [event] = event_log.of("KaizenEncodeEvent")
    assert event.node_id == "n1" and event.source == "postprocessor" and event.whole_json
    assert event.original_tokens == count_tokens(text, "gpt-4o").tokens
    assert savings.by_model["gpt-4o"].tokens_saved == event.tokens_saved > 0


# -- the query engine check ---------------------------------------------------------------


def _query(index: VectorStoreIndex, llm: RecordingLLM, postprocessors: list) -> object:
    engine = index.as_query_engine(llm=llm, similarity_top_k=4, node_postprocessors=postprocessors)
    return engine.query("Which north orders are pending?")


def test_query_engine_sends_ktof_and_fewer_tokens_keeping_ids_metadata_scores(
    json_documents, embed_model, savings: KaizenSavingsHandler
) -> None:  # type: ignore[no-untyped-def]
    index = VectorStoreIndex.from_documents(json_documents, embed_model=embed_model)
    plain_llm, kaizen_llm = RecordingLLM(), RecordingLLM()

    plain = _query(index, plain_llm, [])
    compressed = _query(index, kaizen_llm, [KaizenNodePostprocessor()])

    [plain_prompt], [kaizen_prompt] = plain_llm.prompts, kaizen_llm.prompts
    assert '"order_id":' in plain_prompt and '"order_id":' not in kaizen_prompt
    assert TABLE_HEADER.search(kaizen_prompt)  # the LLM received KTOF tables
    plain_tokens = count_tokens(plain_prompt, "gpt-4o").tokens
    kaizen_tokens = count_tokens(kaizen_prompt, "gpt-4o").tokens
    assert kaizen_tokens < plain_tokens
    # the prompt shrank by exactly what the handler counted
    assert plain_tokens - kaizen_tokens == pytest.approx(savings.tokens_saved, abs=8)

    before, after = plain.source_nodes, compressed.source_nodes
    assert [n.node.node_id for n in after] == [n.node.node_id for n in before]
    assert [n.score for n in after] == [n.score for n in before]
    assert [n.node.metadata for n in after] == [n.node.metadata for n in before]
    assert [n.node.relationships for n in after] == [n.node.relationships for n in before]
    assert all(
        n.node.excluded_llm_metadata_keys == ["secret_note"]
        for n in after
        if n.node.metadata["kind"] == "orders"
    )
    assert "internal north" not in kaizen_prompt  # excluded metadata stays out of the prompt
    for old, new in zip(before, after):
        text = old.node.get_content()
        if text.lstrip().startswith("["):
            assert decode(new.node.get_content()) == json.loads(text)
    # the index itself still holds the JSON
    stored = index.docstore.get_node(after[0].node.node_id)
    assert stored.get_content() == before[0].node.get_content()


async def test_async_query_engine_uses_the_async_path(json_documents, embed_model) -> None:  # type: ignore[no-untyped-def]
    index = VectorStoreIndex.from_documents(json_documents, embed_model=embed_model)
    llm = RecordingLLM()
    engine = index.as_query_engine(
        llm=llm, similarity_top_k=4, node_postprocessors=[KaizenNodePostprocessor()]
    )
    response = await engine.aquery("Which north orders are pending?")
    assert TABLE_HEADER.search(llm.prompts[-1])
    assert len(response.source_nodes) == 4


# -- hosts and clients ------------------------------------------------------------------------


def _mixed_nodes() -> list[NodeWithScore]:
    return [
        scored(json.dumps(ROWS), 0.9, id_="a"),
        scored("plain words only", 0.5, id_="b"),
        scored(f"rows: {json.dumps(ROWS[:6])}\nthat is all", 0.25, id_="c"),
    ]


async def test_self_hosted_server_rewrites_exactly_as_embedded(kaizen_server: str) -> None:
    from kaizen_core import KaizenClient

    embedded = KaizenNodePostprocessor().postprocess_nodes(_mixed_nodes())
    remote = KaizenNodePostprocessor(client=KaizenClient(base_url=kaizen_server))
    over_http = await remote.apostprocess_nodes(_mixed_nodes())
    # the blocking side is built from the async client's configuration: same server
    over_http_sync = remote.postprocess_nodes(_mixed_nodes())
    texts = [n.node.get_content() for n in embedded]
    assert [n.node.get_content() for n in over_http] == texts
    assert [n.node.get_content() for n in over_http_sync] == texts
    assert texts[1] == "plain words only" and TABLE_HEADER.search(texts[0])


async def test_async_path_never_touches_the_blocking_client() -> None:
    import httpx
    from kaizen_core import KaizenClient, KaizenSyncClient

    class Refuse(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            raise AssertionError("the blocking Kaizen client was used on the async path")

    postprocessor = KaizenNodePostprocessor(
        client=KaizenSyncClient(mode="embedded", transport=Refuse()),
        async_client=KaizenClient(mode="embedded"),
    )
    out = await postprocessor.apostprocess_nodes(_mixed_nodes())
    assert TABLE_HEADER.search(out[0].node.get_content())
    with pytest.raises(AssertionError, match="blocking Kaizen client"):
        postprocessor.postprocess_nodes(_mixed_nodes())


def _closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_unavailable_service_fails_open_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from kaizen_core import KaizenClient, KaizenConnectionError

    client = KaizenClient(base_url=_closed_port_url(), max_retries=0)
    nodes = _mixed_nodes()
    with caplog.at_level("WARNING", logger="kaizen_llamaindex"):
        out = await KaizenNodePostprocessor(client=client).apostprocess_nodes(nodes)
        out_sync = KaizenNodePostprocessor(client=client).postprocess_nodes(nodes)
    assert [n.node for n in out] == [n.node for n in nodes]
    assert [n.node for n in out_sync] == [n.node for n in nodes]
    assert "Kaizen unavailable" in caplog.text
    with pytest.raises(KaizenConnectionError):
        await KaizenNodePostprocessor(client=client, fail_open=False).apostprocess_nodes(nodes)


def test_configuration_errors_raise_even_when_failing_open() -> None:
    from kaizen_core import KaizenAuthenticationError, KaizenSyncClient
    from kaizen_core.router import RouterSettings
    from kaizen_core.transports import EmbeddedTransport

    locked = EmbeddedTransport(RouterSettings(api_keys=frozenset({"right-key"})))
    client = KaizenSyncClient(mode="embedded", transport=locked, api_key="wrong-key")
    with pytest.raises(KaizenAuthenticationError):
        KaizenNodePostprocessor(client=client).postprocess_nodes(_mixed_nodes())
    with pytest.raises(ValueError):
        KaizenNodePostprocessor(format="yaml")


def test_clients_built_from_the_environment_serve_every_event_loop(
    kaizen_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given no client, ``KAIZEN_BASE_URL`` (read on first use) selects the server; each
    ``asyncio.run`` (as LlamaIndex's sync engines with ``use_async`` do) gets an async client of
    its own loop, so no connection of a closed loop is reused."""
    import asyncio

    monkeypatch.delenv("KAIZEN_API_KEY", raising=False)
    postprocessor = KaizenNodePostprocessor()
    monkeypatch.setenv("KAIZEN_BASE_URL", kaizen_server)
    first = asyncio.run(postprocessor.apostprocess_nodes(_mixed_nodes()))
    second = asyncio.run(postprocessor.apostprocess_nodes(_mixed_nodes()))
    blocking = postprocessor.postprocess_nodes(_mixed_nodes())
    texts = [n.node.get_content() for n in first]
    assert TABLE_HEADER.search(texts[0])
    assert [n.node.get_content() for n in second] == texts
    assert [n.node.get_content() for n in blocking] == texts
    assert postprocessor._encoder.sync_client.base_url == kaizen_server.rstrip("/") + "/"


async def test_close_closes_the_built_clients_only() -> None:
    from kaizen_core import KaizenClient

    given = KaizenClient(mode="embedded")
    postprocessor = KaizenNodePostprocessor(client=given)
    await postprocessor.apostprocess_nodes(_mixed_nodes())
    built = postprocessor._encoder.sync_client  # built from the given client's configuration
    assert built is not given and built.is_embedded
    await postprocessor.aclose()
    assert built._client.is_closed and not given._client.is_closed
    # a closed postprocessor builds a fresh client when used again
    out = postprocessor.postprocess_nodes(_mixed_nodes())
    assert TABLE_HEADER.search(out[0].node.get_content())
    postprocessor.close()
    await given.close()
