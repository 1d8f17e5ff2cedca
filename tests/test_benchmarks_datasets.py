"""The benchmark datasets are deterministic and every representation reads back exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.datasets import GITHUB_REPOS_PATH, SEED, github_repos, load_datasets
from benchmarks.formats import FORMATS, exact_equal, round_trip_ok, segments, tool_payloads
from benchmarks.tokens import count

SMALL = load_datasets("small")


def _fingerprint(size: str, seed: int) -> str:
    return json.dumps([(d.name, d.data) for d in load_datasets(size, seed=seed)], sort_keys=False)


def test_same_seed_same_data() -> None:
    assert _fingerprint("small", SEED) == _fingerprint("small", SEED)


def test_other_seed_other_data() -> None:
    assert _fingerprint("small", SEED) != _fingerprint("small", SEED + 1)


def test_every_shape_is_present() -> None:
    names = {dataset.name for dataset in SMALL}
    expected = {
        "employees",
        "time-series",
        "orders",
        "event-logs",
        "nested-config",
        "feature-flags",
        "contacts",
        "chat-transcripts",
    }
    assert expected <= names


def test_event_logs_are_semi_uniform() -> None:
    logs = next(d for d in SMALL if d.name == "event-logs").data["logs"]
    with_error = sum("error" in log for log in logs)
    assert 0 < with_error < len(logs)


def test_transcript_tool_messages_carry_json() -> None:
    transcripts = next(d for d in SMALL if d.name == "chat-transcripts")
    payloads = tool_payloads(transcripts)
    assert len(payloads) == len(transcripts.data)
    assert all(isinstance(payload, dict) for payload in payloads)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dataset", SMALL, ids=lambda d: d.name)
def test_round_trip_exact(dataset, fmt: str) -> None:
    for model in ("gpt-4o", "gpt-4"):
        assert round_trip_ok(dataset, fmt, model=model)


def test_transcript_text_messages_are_kept_verbatim() -> None:
    transcripts = next(d for d in SMALL if d.name == "chat-transcripts")
    user_texts = [m["content"] for c in transcripts.data for m in c if m["role"] == "user"]
    rendered = segments(transcripts, "toon")
    assert all(text in rendered for text in user_texts)


def test_missing_github_file_is_skipped_with_a_note(tmp_path: Path, capsys) -> None:
    datasets = load_datasets("small", github_path=tmp_path / "absent.json")
    assert "github-repos" not in {d.name for d in datasets}
    assert "github-repos dataset is skipped" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("left", "right", "number_types", "equal"),
    [
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, False, False),
        (True, 1, False, False),
        (1.0, 1, False, True),
        (1.0, 1, True, False),
        (-0.0, 0.0, True, False),
        ([1, "x", None], [1, "x", None], True, True),
        ("1", 1, False, False),
    ],
)
def test_exact_equal(left, right, number_types: bool, equal: bool) -> None:
    assert exact_equal(left, right, number_types=number_types) is equal


@pytest.mark.skipif(
    not GITHUB_REPOS_PATH.is_file(),
    reason="../shared/data (reference data beside the repository) is absent",
)
def test_counts_reproduce_the_toon_projects_published_numbers() -> None:
    repos = next(d for d in SMALL if d.name == "github-repos")
    assert github_repos() == repos.data
    published = {"pretty_json": 15_337, "compact_json": 11_640, "toon": 8_937}
    measured = {fmt: count(segments(repos, fmt)[0], "o200k_base") for fmt in published}
    assert measured == published
