"""The TOON spec v4 conformance fixtures run through the engine's encode and decode.

The fixtures live beside the repository in ``../shared/data/toon-spec-v4`` (reference
material of the development checkout, absent from a user's clone).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from kaizen_core.engine import KTOFDecodeError, decode, encode

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "data" / "toon-spec-v4" / "fixtures"

# Cases this engine does not pass, with the reason. Only the spec's *optional*
# leniency cases may appear here (FIXTURES-README.md, "Non-Strict Tests").
KNOWN_DEVIATIONS: dict[str, str] = {}


def _cases(kind: str) -> list[Any]:
    if not FIXTURES.is_dir():
        return [
            pytest.param(
                None,
                marks=pytest.mark.skip(
                    reason=f"TOON spec fixtures not found at {FIXTURES} "
                    "(they ship with the development checkout, not with the package)"
                ),
                id="fixtures-absent",
            )
        ]
    params = []
    for path in sorted((FIXTURES / kind).glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["tests"]:
            case_id = f"{path.stem}: {case['name']}"
            marks = []
            if case_id in KNOWN_DEVIATIONS:
                marks.append(pytest.mark.xfail(reason=KNOWN_DEVIATIONS[case_id], strict=True))
            params.append(pytest.param(case, id=case_id, marks=marks))
    return params


def _same_json(a: Any, b: Any) -> bool:
    """JSON equality that also tells ``-0.0`` from ``0.0``."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same_json, a, b))
    if isinstance(a, float) and isinstance(b, float) and a == 0 == b:
        return math.copysign(1, a) == math.copysign(1, b)
    return type(a) is type(b) and a == b if isinstance(a, (str, bool)) or a is None else a == b


@pytest.mark.parametrize("case", _cases("encode"))
def test_encode_fixture(case: dict[str, Any]) -> None:
    options = case.get("options", {})
    kwargs = {"indent": options.get("indentSize", 2), "delimiter": options.get("delimiter", ",")}
    assert encode(case["input"], **kwargs) == case["expected"]


@pytest.mark.parametrize("case", _cases("decode"))
def test_decode_fixture(case: dict[str, Any]) -> None:
    options = case.get("options", {})
    kwargs = {"indent": options.get("indentSize", 2), "strict": options.get("strict", True)}
    if case.get("shouldError"):
        with pytest.raises(KTOFDecodeError) as info:
            decode(case["input"], **kwargs)
        assert info.value.line >= 1 and info.value.column >= 1
        assert info.value.text == case["input"]
    else:
        assert _same_json(decode(case["input"], **kwargs), case["expected"])


def test_fixture_count() -> None:
    """The fixture set is the 516-case v4 suite, and at most 4 cases deviate."""
    if not FIXTURES.is_dir():
        pytest.skip(f"TOON spec fixtures not found at {FIXTURES}")
    total = sum(
        len(json.loads(p.read_text(encoding="utf-8"))["tests"]) for p in FIXTURES.rglob("*.json")
    )
    assert total == 516
    assert len(KNOWN_DEVIATIONS) <= 4
