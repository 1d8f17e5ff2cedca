"""Benchmark datasets in the shapes of the TOON project's token benchmark, from a fixed seed.

Every generator takes an explicit ``random.Random`` so the same seed always yields the same data
(Python guarantees the ``random`` sequence for a given seed across platforms and versions).
Shapes: uniform employees, time series, orders with nested items, semi-uniform event logs, a
deeply nested config, feature flags keyed by name, contacts with nested groups, the real
``github-repos.json`` (read from ``../shared/data`` beside the repository when present) and chat
transcripts whose tool messages carry JSON.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

SEED = 20240601
REFERENCE_TIME = datetime(2025, 6, 1, tzinfo=timezone.utc)
REPO_ROOT = Path(__file__).resolve().parents[1]
GITHUB_REPOS_PATH = REPO_ROOT.parent / "shared" / "data" / "github-repos.json"

DatasetKind = Literal["value", "transcript"]

FIRST_NAMES = (
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Barbara",
    "Ken",
    "Margaret",
    "Dennis",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Katherine",
    "John",
    "Sophie",
    "Niklaus",
    "Hedy",
    "Donald",
    "Joan",
    "Guido",
    "Anita",
    "Bjarne",
    "Shafi",
    "Yukihiro",
    "Carol",
    "Leslie",
    "Mary",
    "Vint",
    "Jean",
    "Whitfield",
)
LAST_NAMES = (
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Liskov",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Johnson",
    "McCarthy",
    "Wilson",
    "Wirth",
    "Lamarr",
    "Knuth",
    "Clarke",
    "van Rossum",
    "Borg",
    "Stroustrup",
    "Goldwasser",
    "Matsumoto",
    "Shaw",
    "Lamport",
    "Keller",
    "Cerf",
    "Bartik",
    "Diffie",
)
MAIL_DOMAINS = ("example.com", "mail.test", "corp.example", "inbox.example.org", "dev.test")
DEPARTMENTS = ("Engineering", "Sales", "Marketing", "HR", "Operations", "Finance")
PRODUCT_NAMES = (
    "Wireless Mouse",
    "USB Cable",
    "Laptop Stand",
    "Keyboard",
    "Webcam",
    "Headphones",
    "Monitor",
    "Desk Lamp",
)
ORDER_STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled")
ENDPOINTS = ("/api/users", "/api/orders", "/api/products", "/api/auth", "/api/payments")
ERROR_MESSAGES = (
    "Database connection timeout",
    "Invalid authentication token",
    "Resource not found",
    "Internal server error",
    "Rate limit exceeded",
)
LOREM = (
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "labore",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
)
NOUNS = (
    "checkout",
    "search",
    "banner",
    "profile",
    "invoice",
    "cart",
    "avatar",
    "dashboard",
    "export",
    "onboarding",
    "billing",
    "sidebar",
    "inbox",
    "widget",
    "report",
    "calendar",
    "upload",
    "feed",
)
CITIES = (
    ("Lisbon", "Portugal"),
    ("Osaka", "Japan"),
    ("Nairobi", "Kenya"),
    ("Austin", "United States"),
    ("Lyon", "France"),
    ("Kraków", "Poland"),
    ("Recife", "Brazil"),
    ("Pune", "India"),
    ("Tromsø", "Norway"),
    ("Cork", "Ireland"),
    ("Perth", "Australia"),
    ("Québec", "Canada"),
)
PLANS = (("free", 0), ("starter", 15), ("pro", 40), ("enterprise", 120))


@dataclass(frozen=True)
class Dataset:
    """One benchmark dataset.

    ``kind`` is ``"value"`` for a JSON value encoded whole, or ``"transcript"`` for a list of
    chat conversations whose tool-message contents are JSON text (each tool payload is encoded
    on its own, the rest of the text is left as it is). ``tabular`` marks the datasets that count
    for the encode-throughput target.
    """

    name: str
    description: str
    data: Any
    kind: DatasetKind = "value"
    tabular: bool = False


def _full_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _email(rng: random.Random, name: str) -> str:
    local = name.lower().replace(" ", ".").replace("-", "")
    return f"{local}{rng.randint(1, 99)}@{rng.choice(MAIL_DOMAINS)}"


def _phone(rng: random.Random) -> str:
    return f"+1-{rng.randint(200, 989)}-555-{rng.randint(0, 9999):04d}"


def _recent(rng: random.Random, days: int) -> datetime:
    return REFERENCE_TIME - timedelta(
        seconds=rng.randint(0, days * 86400), milliseconds=rng.randint(0, 999)
    )


def _iso(moment: datetime) -> str:
    """ISO 8601 with milliseconds and ``Z``, as JavaScript's ``toISOString`` writes it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _sku(rng: random.Random, length: int = 6) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(length))


def employees(rng: random.Random, count: int) -> dict[str, Any]:
    """Uniform employee records (a flat table)."""
    rows = []
    for index in range(count):
        name = _full_name(rng)
        rows.append(
            {
                "id": index + 1,
                "name": name,
                "email": _email(rng, name),
                "department": DEPARTMENTS[index % len(DEPARTMENTS)],
                "salary": rng.randint(45_000, 150_000),
                "yearsExperience": rng.randint(1, 25),
                "active": rng.random() < 0.8,
            }
        )
    return {"employees": rows}


def time_series(rng: random.Random, days: int) -> dict[str, Any]:
    """Daily web analytics metrics (numbers and dates)."""
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    metrics = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        weekend = 0.7 if day.weekday() >= 5 else 1.0
        views = round(5000 * weekend + rng.randint(-1000, 3000))
        clicks = round(views * rng.uniform(0.02, 0.08))
        conversions = round(clicks * rng.uniform(0.05, 0.15))
        metrics.append(
            {
                "date": day.date().isoformat(),
                "views": views,
                "clicks": clicks,
                "conversions": conversions,
                "revenue": round(conversions * rng.uniform(49.99, 299.99), 2),
                "bounceRate": round(rng.uniform(0.3, 0.7), 2),
            }
        )
    return {"metrics": metrics}


def orders(rng: random.Random, count: int) -> dict[str, Any]:
    """E-commerce orders: a nested customer object and a uniform ``items`` table per order."""
    result = []
    for index in range(count):
        items = []
        for position in range(rng.randint(1, 4)):
            items.append(
                {
                    "sku": f"SKU-{_sku(rng)}",
                    "name": PRODUCT_NAMES[position % len(PRODUCT_NAMES)],
                    "quantity": rng.randint(1, 5),
                    "price": round(rng.uniform(9.99, 199.99), 2),
                }
            )
        subtotal = round(sum(item["price"] * item["quantity"] for item in items), 2)
        tax = round(subtotal * 0.08, 2)
        name = _full_name(rng)
        result.append(
            {
                "orderId": f"ORD-{index + 1:04d}",
                "customer": {
                    "id": index % 20 + 1,
                    "name": name,
                    "email": _email(rng, name),
                    "phone": _phone(rng),
                },
                "items": items,
                "subtotal": subtotal,
                "tax": tax,
                "total": round(subtotal + tax, 2),
                "status": ORDER_STATUSES[index % len(ORDER_STATUSES)],
                "orderDate": _recent(rng, 90).date().isoformat(),
            }
        )
    return {"orders": result}


def event_logs(rng: random.Random, count: int) -> dict[str, Any]:
    """Semi-uniform API logs: about half carry a nested ``error`` object with a multi-line stack."""
    logs = []
    for _ in range(count):
        level = rng.choice(("info", "warn", "error"))
        has_error = level == "error" or (level == "warn" and rng.random() < 0.3)
        log: dict[str, Any] = {
            "timestamp": _iso(_recent(rng, 7)),
            "level": level,
            "endpoint": rng.choice(ENDPOINTS),
            "statusCode": rng.randint(400, 599) if has_error else rng.randint(200, 299),
            "responseTime": rng.randint(10, 5000),
            "userId": rng.randint(1000, 9999),
        }
        if has_error:
            sentence = " ".join(rng.choice(LOREM) for _ in range(rng.randint(4, 8))).capitalize()
            log["error"] = {
                "message": rng.choice(ERROR_MESSAGES),
                "stack": f"Error: {sentence}.\n  at {rng.choice(LOREM)}\n  at {rng.choice(LOREM)}",
                "retryable": rng.random() < 0.6,
            }
        logs.append(log)
    return {"logs": logs}


def nested_config(rng: random.Random) -> dict[str, Any]:
    """A deeply nested service configuration with almost nothing tabular."""

    def domain() -> str:
        return f"{rng.choice(NOUNS)}-{rng.choice(LOREM)}.example"

    def url() -> str:
        return f"https://{domain()}/{rng.choice(LOREM)}"

    def uuid() -> str:
        hexdigits = "".join(rng.choice("0123456789abcdef") for _ in range(32))
        parts = (
            hexdigits[:8],
            hexdigits[8:12],
            "4" + hexdigits[13:16],
            "a" + hexdigits[17:20],
            hexdigits[20:],
        )
        return "-".join(parts)

    def emails(count: int) -> list[str]:
        return [_email(rng, _full_name(rng)) for _ in range(count)]

    return {
        "environment": rng.choice(("production", "staging", "development")),
        "version": f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 40)}",
        "database": {
            "host": domain(),
            "port": 5432,
            "name": rng.choice(("postgres", "mysql", "mariadb")),
            "pool": {"min": 2, "max": rng.randint(10, 50), "idleTimeout": 30000},
            "replicas": [
                {"host": f"replica-{number}.{domain()}", "port": 5432, "priority": number}
                for number in (1, 2, 3)
            ],
        },
        "features": {
            "darkMode": {
                "enabled": rng.random() < 0.5,
                "rollout": rng.randint(0, 100),
                "variants": [
                    {
                        "name": "default",
                        "weight": 70,
                        "config": {"theme": "dark", "animations": True},
                    },
                    {
                        "name": "minimal",
                        "weight": 30,
                        "config": {"theme": "dark", "animations": False},
                    },
                ],
            },
            "analytics": {
                "enabled": rng.random() < 0.5,
                "rollout": rng.randint(0, 100),
                "variants": [
                    {"name": "full", "weight": 100, "config": {"tracking": "all", "sampling": 1.0}}
                ],
            },
        },
        "authentication": {
            "providers": [
                {
                    "name": "oauth2",
                    "clientId": uuid(),
                    "scopes": ["read", "write", "admin"],
                    "config": {"authUrl": url(), "tokenUrl": url()},
                },
                {
                    "name": "saml",
                    "clientId": uuid(),
                    "scopes": ["read"],
                    "config": {"entryPoint": url(), "cert": _sku(rng, 64)},
                },
            ],
            "session": {"secret": _sku(rng, 32), "duration": 86400, "refreshThreshold": 3600},
        },
        "permissions": {
            "roles": {
                "admin": {
                    "permissions": ["read", "write", "delete", "manage_users", "manage_roles"],
                    "inherits": [],
                },
                "editor": {"permissions": ["read", "write"], "inherits": ["viewer"]},
                "viewer": {"permissions": ["read"], "inherits": []},
            },
            "groups": {
                "engineering": {"members": emails(5), "roles": ["admin", "editor"]},
                "support": {"members": emails(3), "roles": ["viewer"]},
            },
        },
    }


def feature_flags(rng: random.Random, count: int) -> dict[str, Any]:
    """Feature flags keyed by a unique name, every entry with the same flat fields."""
    flags = {}
    for index in range(count):
        flags[f"flag_{index}_{rng.choice(NOUNS)}"] = {
            "enabled": rng.random() < 0.6,
            "rollout": rng.randint(0, 100),
            "owner": rng.choice(FIRST_NAMES),
            "updatedAt": _recent(rng, 90).date().isoformat(),
        }
    return {"flags": flags}


def contacts(rng: random.Random, count: int) -> dict[str, Any]:
    """Contacts whose ``address`` and ``plan`` are uniform nested objects (nested field groups)."""
    rows = []
    for _ in range(count):
        name = _full_name(rng)
        city, country = rng.choice(CITIES)
        plan_name, plan_price = rng.choice(PLANS)
        rows.append(
            {
                "name": name,
                "age": rng.randint(18, 80),
                "email": _email(rng, name),
                "address": {"city": city, "country": country},
                "plan": {"name": plan_name, "price": plan_price},
            }
        )
    return {"contacts": rows}


def tool_payload(rng: random.Random, topic: str) -> Any:
    """The JSON a tool returns for one of the transcript topics."""
    if topic == "search_products":
        return {
            "query": rng.choice(PRODUCT_NAMES).lower(),
            "results": [
                {
                    "sku": f"SKU-{_sku(rng)}",
                    "name": rng.choice(PRODUCT_NAMES),
                    "price": round(rng.uniform(9.99, 199.99), 2),
                    "inStock": rng.random() < 0.7,
                    "rating": round(rng.uniform(2.5, 5.0), 1),
                }
                for _ in range(rng.randint(8, 15))
            ],
        }
    if topic == "get_order":
        return orders(rng, 1)["orders"][0]
    if topic == "recent_errors":
        return event_logs(rng, rng.randint(6, 12))
    return time_series(rng, rng.randint(7, 14))


TRANSCRIPT_QUESTIONS = {
    "search_products": "Which of these are in stock under $100, best rated first?",
    "get_order": "Where is my order and what did I pay for shipping and tax?",
    "recent_errors": "Summarise the recent API errors and tell me which ones are retryable.",
    "weekly_metrics": "How did conversions trend this week compared to views?",
}


def chat_transcripts(rng: random.Random, count: int) -> list[list[dict[str, Any]]]:
    """Chat conversations (OpenAI message shape) whose tool messages carry pretty-printed JSON."""
    conversations = []
    topics = tuple(TRANSCRIPT_QUESTIONS)
    for number in range(count):
        topic = topics[number % len(topics)]
        call_id = f"call_{_sku(rng, 12).lower()}"
        payload = tool_payload(rng, topic)
        conversations.append(
            [
                {
                    "role": "system",
                    "content": "You are a helpful assistant for an online shop. Answer briefly.",
                },
                {"role": "user", "content": TRANSCRIPT_QUESTIONS[topic]},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {"name": topic, "arguments": "{}"},
                        }
                    ],
                },
                {
                    "role": "tool",
                    "tool_call_id": call_id,
                    "content": json.dumps(payload, indent=2, ensure_ascii=False),
                },
            ]
        )
    return conversations


def github_repos(path: Path = GITHUB_REPOS_PATH) -> Any | None:
    """The TOON project's top-100 GitHub repositories, wrapped as it does; None when absent."""
    if not path.is_file():
        return None
    return {"repositories": json.loads(path.read_text(encoding="utf-8"))}


# Row counts per dataset: "full" follows the TOON token-efficiency benchmark, "small" is for tests.
SIZES: dict[str, dict[str, int]] = {
    "full": {
        "employees": 2000,
        "days": 365,
        "orders": 500,
        "logs": 2000,
        "flags": 500,
        "contacts": 1000,
        "chats": 40,
    },
    "small": {
        "employees": 40,
        "days": 30,
        "orders": 12,
        "logs": 40,
        "flags": 25,
        "contacts": 30,
        "chats": 8,
    },
}


def load_datasets(
    size: str = "full", *, seed: int = SEED, github_path: Path = GITHUB_REPOS_PATH
) -> list[Dataset]:
    """All datasets for ``size`` ("full" or "small"); each generator gets its own seeded stream.

    The GitHub dataset is left out (with a note on stdout) when its file is absent.
    """
    counts = SIZES[size]

    def rng(offset: int) -> random.Random:
        return random.Random(seed + offset)

    datasets = [
        Dataset(
            "employees",
            "Uniform employee records",
            employees(rng(1), counts["employees"]),
            tabular=True,
        ),
        Dataset(
            "time-series",
            "Daily analytics metrics",
            time_series(rng(2), counts["days"]),
            tabular=True,
        ),
        Dataset(
            "orders", "Orders with nested customer and items", orders(rng(3), counts["orders"])
        ),
        Dataset("event-logs", "Semi-uniform event logs", event_logs(rng(4), counts["logs"])),
        Dataset("nested-config", "Deeply nested configuration", nested_config(rng(5))),
        Dataset(
            "feature-flags",
            "Feature flags keyed by name",
            feature_flags(rng(6), counts["flags"]),
            tabular=True,
        ),
        Dataset(
            "contacts",
            "Contacts with nested groups",
            contacts(rng(7), counts["contacts"]),
            tabular=True,
        ),
    ]
    repos = github_repos(github_path)
    if repos is None:
        print(f"note: {github_path} not found; the github-repos dataset is skipped")
    else:
        datasets.append(
            Dataset("github-repos", "Top 100 GitHub repositories (real data)", repos, tabular=True)
        )
    datasets.append(
        Dataset(
            "chat-transcripts",
            "Chat transcripts with JSON tool results",
            chat_transcripts(rng(8), counts["chats"]),
            kind="transcript",
        )
    )
    return datasets
