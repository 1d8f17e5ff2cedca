"""The main job (``kaizen demo`` / ``make demo``), offline on the embedded engine.

A chat prompt whose tool message carries JSON goes through ``KaizenEncode`` (or the client's
``prompts_encode`` when LangChain is not installed), a JSON dataset through ``optimize``; the
demo prints tokens before and after for several models, then decodes everything back and
checks the round trip is exact.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from . import engine
from .client import KaizenSyncClient
from .estimates import estimate_cost

MODELS = ("gpt-4o", "gpt-4", "claude-sonnet-4")
CALLS_FOR_COST = 1_000_000  # the "$ saved / 1M calls" column

_FIRST = ("Ada", "Alan", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Radia", "Guido")
_LAST = (
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Liskov",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Perlman",
    "van Rossum",
)
_PRODUCTS = (
    "Wireless Mouse",
    "USB-C Cable",
    "Laptop Stand",
    "Keyboard",
    "Webcam",
    "Headphones",
    "Monitor",
    "Desk Lamp",
)


def sample_orders(rng: random.Random, count: int = 12) -> list[dict[str, Any]]:
    """Orders as an order-lookup tool returns them: a uniform table of records."""
    statuses = ("pending", "processing", "shipped", "delivered")
    return [
        {
            "orderId": f"ORD-{1040 + number}",
            "product": rng.choice(_PRODUCTS),
            "quantity": rng.randint(1, 4),
            "unitPrice": round(rng.uniform(9.99, 249.99), 2),
            "status": rng.choice(statuses),
            "placedAt": f"2025-05-{rng.randint(1, 28):02d}",
        }
        for number in range(count)
    ]


def sample_chat() -> list[dict[str, Any]]:
    """A support conversation: the tool result is pretty-printed JSON, as most tools return it."""
    rng = random.Random(7)
    orders = {
        "customer": {"id": 311, "name": "Grace Hopper", "tier": "gold"},
        "orders": sample_orders(rng),
    }
    return [
        {"role": "system", "content": "You are a support agent for an electronics shop. Be brief."},
        {
            "role": "user",
            "content": "Which of my orders have not shipped yet, and what do they cost?",
        },
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "call_orders", "name": "lookup_orders", "args": {"customer_id": 311}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_orders", "content": json.dumps(orders, indent=2)},
    ]


def sample_dataset() -> dict[str, Any]:
    """A JSON dataset: 40 employee records."""
    rng = random.Random(11)
    departments = ("Engineering", "Sales", "Marketing", "Operations")
    employees = []
    for number in range(1, 41):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        employees.append(
            {
                "id": number,
                "name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower().replace(' ', '')}@example.com",
                "department": rng.choice(departments),
                "salary": rng.randint(52_000, 148_000),
                "active": rng.random() < 0.85,
            }
        )
    return {"employees": employees}


@dataclass
class Item:
    """One thing the demo encodes: its text before and after, and whether it decoded exactly."""

    name: str
    before: str
    after: str
    exact: bool
    tool_after: str = ""


def _encode_chat_with_langchain(
    client: KaizenSyncClient, messages: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], str]:
    from langchain_core.messages import convert_to_messages

    from kaizen_langchain import KaizenEncode

    # The demo's client, not the environment's choice: the demo stays on its (embedded) host.
    encoded = KaizenEncode(client=client).invoke(convert_to_messages(messages))
    return [
        {**original, "content": message.content} for original, message in zip(messages, encoded)
    ], "KaizenEncode"


def _encode_chat_with_client(
    client: KaizenSyncClient, messages: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], str]:
    encoded = []
    for message in messages:
        content = message["content"]
        if message["role"] == "tool":
            content = client.prompts_encode({"prompt": content})["result"]
        encoded.append({**message, "content": content})
    return encoded, "KaizenSyncClient.prompts_encode"


def encode_chat(
    client: KaizenSyncClient, messages: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], str]:
    """The messages with their JSON encoded, and which component did it."""
    try:
        return _encode_chat_with_langchain(client, messages)
    except ImportError:
        return _encode_chat_with_client(client, messages)


def run_job(client: KaizenSyncClient) -> tuple[list[Item], str]:
    """Encode the chat prompt and the dataset and decode them back; the items and chat encoder."""
    chat = sample_chat()
    encoded_chat, via = encode_chat(client, chat)
    tool_before = chat[-1]["content"]
    tool_after = encoded_chat[-1]["content"]
    tool_back = client.prompts_decode({"ktof": tool_after})["result"]
    chat_exact = tool_back == json.loads(tool_before) and all(
        a["content"] == b["content"] for a, b in zip(chat[:-1], encoded_chat[:-1])
    )
    chat_item = Item(
        "chat prompt",
        "\n".join(m["content"] for m in chat),
        "\n".join(m["content"] for m in encoded_chat),
        chat_exact,
        tool_after,
    )

    dataset = sample_dataset()
    optimized = client.optimize({"data": dataset, "options": {"format": "auto"}})["result"]
    back = client.decompress({"data": optimized})["result"]
    dataset_item = Item("JSON dataset", json.dumps(dataset, indent=2), optimized, back == dataset)
    return [chat_item, dataset_item], via


def _tokens_table(items: list[Item]) -> Table:
    table = Table(title="Tokens before -> after, per model")
    for column in ("item", "model", "before", "after", "saved", "$ saved / 1M calls"):
        table.add_column(column, justify="left" if column in ("item", "model") else "right")
    for item in items:
        for model in MODELS:
            before = engine.count_tokens(item.before, model)
            after = engine.count_tokens(item.after, model)
            label = model if before.exact else f"{model} (est.)"
            saved = before.tokens - after.tokens
            dollars = estimate_cost(saved, model) * CALLS_FOR_COST
            table.add_row(
                item.name,
                label,
                f"{before.tokens:,}",
                f"{after.tokens:,}",
                f"{saved:,} ({saved / before.tokens:.0%})",
                f"{dollars:,.2f}",
            )
    return table


def _round_trip_table(items: list[Item]) -> Table:
    table = Table(title="Decoded back")
    table.add_column("item")
    table.add_column("round trip")
    for item in items:
        table.add_row(item.name, "[green]exact[/green]" if item.exact else "[red]MISMATCH[/red]")
    return table


def main() -> None:
    """Run the main job on the embedded engine and print the savings; exit 1 on a mismatch."""
    console = Console()
    with KaizenSyncClient(mode="embedded") as client:
        items, via = run_job(client)
    console.print(
        f"Kaizen demo on the embedded engine (offline); chat prompt encoded by [bold]{via}[/bold]."
    )
    tool_lines = items[0].tool_after.splitlines()
    preview = "\n".join(
        tool_lines[:8] + ([f"... {len(tool_lines) - 8} more lines"] if len(tool_lines) > 8 else [])
    )
    console.print(
        Panel(
            preview.replace("\t", " \u21e5 "),
            title="the tool message as the model now reads it",
            subtitle="\u21e5 = tab delimiter" if "\t" in preview else None,
            expand=False,
        )
    )
    console.print(_tokens_table(items))
    console.print(_round_trip_table(items))
    if not all(item.exact for item in items):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
