"""Kaizen events through LlamaIndex's dispatcher; KaizenSavingsHandler totals."""

from __future__ import annotations

import json
import threading

from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.schema import NodeWithScore, TextNode

from kaizen_llamaindex import (
    KaizenEncodeEvent,
    KaizenLLM,
    KaizenNodePostprocessor,
    KaizenOutputParser,
    KaizenSavingsHandler,
)
from kaizen_llamaindex.instrumentation import dispatcher

from .conftest import EventLog, RecordingLLM


def table(n: int, label: str) -> str:
    return json.dumps([{"row": i, "label": f"{label} {i}", "value": i * 3.5} for i in range(n)])


def test_handler_totals_equal_the_sum_of_the_emitted_events(
    savings: KaizenSavingsHandler, event_log: EventLog
) -> None:
    nodes = [NodeWithScore(node=TextNode(text=table(n, "node")), score=0.5) for n in (3, 9, 20)]
    KaizenNodePostprocessor().postprocess_nodes(nodes)
    KaizenNodePostprocessor(model="claude-sonnet-4").postprocess_nodes(nodes)
    llm = KaizenLLM(llm=RecordingLLM(model_name="gpt-4o-mini"))
    llm.complete(f"Rows: {table(6, 'prompt')} and more rows: {table(4, 'more')}")
    KaizenOutputParser().parse("a: 1")

    events = [e for e in event_log.events if isinstance(e, KaizenEncodeEvent)]
    models = {e.model for e in events}
    assert models == {"gpt-4o", "claude-sonnet-4", "gpt-4o-mini"}
    for model in models:
        mine = [e for e in events if e.model == model]
        totals = savings.by_model[model]
        assert totals.encodes == len(mine)
        assert totals.original_tokens == sum(e.original_tokens for e in mine)
        assert totals.encoded_tokens == sum(e.encoded_tokens for e in mine)
        assert totals.tokens_saved == sum(e.tokens_saved for e in mine) > 0
        assert 0 < totals.savings_ratio < 1
    assert savings.tokens_saved == sum(e.tokens_saved for e in events)
    assert savings.encodes == len(events)
    assert savings.decodes == 1
    # a non-OpenAI tokenizer is an estimate, and the event says so
    assert {e.exact for e in events if e.model == "claude-sonnet-4"} == {False}
    assert {e.exact for e in events if e.model != "claude-sonnet-4"} == {True}


def test_events_sit_in_the_component_span_and_serialise_with_their_class_name(
    event_log: EventLog,
) -> None:
    node = NodeWithScore(node=TextNode(text=table(8, "x"), id_="n-1"), score=1.0)
    KaizenNodePostprocessor().postprocess_nodes([node])
    [event] = event_log.of("KaizenEncodeEvent")
    assert event.span_id is not None and event.span_id.startswith("KaizenNodePostprocessor.")
    dumped = event.model_dump()
    assert dumped["class_name"] == "KaizenEncodeEvent" and dumped["node_id"] == "n-1"


def test_handler_on_the_kaizen_dispatcher_alone_sees_kaizen_events() -> None:
    handler = KaizenSavingsHandler()
    dispatcher.add_event_handler(handler)
    try:
        KaizenNodePostprocessor().postprocess_nodes(
            [NodeWithScore(node=TextNode(text=table(8, "y")), score=1.0)]
        )
    finally:
        dispatcher.event_handlers = [h for h in dispatcher.event_handlers if h is not handler]
    assert handler.encodes == 1 and handler.tokens_saved > 0
    assert dispatcher.parent is get_dispatcher()  # ... and they still reach the root


def test_handler_is_thread_safe_and_resets() -> None:
    handler = KaizenSavingsHandler()
    event = KaizenEncodeEvent(
        source="llm",
        model="m",
        original_tokens=10,
        encoded_tokens=7,
        original_chars=40,
        encoded_chars=30,
    )

    def feed() -> None:
        for _ in range(500):
            handler.handle(event)

    threads = [threading.Thread(target=feed) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert handler.by_model["m"].encodes == 2000
    assert handler.tokens_saved == 6000
    handler.reset()
    assert handler.by_model == {} and handler.tokens_saved == 0
