"""The TOON spec v4 fixtures through `/v1/compress` and `/v1/decompress`, on both hosts.

Encode cases go through `/v1/compress` (spec-exact output is the default there) and must
match byte for byte; decode cases go through `/v1/decompress`; `shouldError` cases must
answer 400 with the contract's error body and a line and column.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import httpx
import pytest

FIXTURES_DIR = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "toon-spec-v4" / "fixtures"
)
SPEC_CASE_COUNT = 516

# Cases allowed to fail, with the reason (the spec's optional lenient cases only). Empty: the
# engine passes all 516; a case listed here would be excused from the count below.
KNOWN_DEVIATIONS: Dict[str, str] = {}


def _load_cases() -> List[Tuple[str, str, Dict[str, Any]]]:
    cases = []
    for path in sorted(FIXTURES_DIR.glob("*/*.json")):
        for index, case in enumerate(json.loads(path.read_text(encoding="utf-8"))["tests"]):
            case_id = f"{path.parent.name}/{path.stem}[{index}] {case['name']}"
            cases.append((path.parent.name, case_id, case))
    return cases


CASES = _load_cases()


def _encode_options(options: Dict[str, Any]) -> Dict[str, Any]:
    mapped: Dict[str, Any] = {}
    if "delimiter" in options:
        mapped["delimiter"] = options["delimiter"]
    if "indentSize" in options:
        mapped["indent"] = options["indentSize"]
    return mapped


def _decode_options(options: Dict[str, Any]) -> Dict[str, Any]:
    mapped: Dict[str, Any] = {}
    if "strict" in options:
        mapped["strict"] = options["strict"]
    if "indentSize" in options:
        mapped["indent"] = options["indentSize"]
    return mapped


def check_case(client: httpx.Client, kind: str, case: Dict[str, Any]) -> None:
    """Assert one fixture case through the HTTP contract."""
    options = case.get("options", {})
    if kind == "encode":
        response = client.post(
            "/v1/compress", json={"data": case["input"], "options": _encode_options(options)}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["operation"] == "compress" and body["status"] == "success"
        assert body["result"] == case["expected"]
        return
    response = client.post(
        "/v1/decompress", json={"data": case["input"], "options": _decode_options(options)}
    )
    if case.get("shouldError"):
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["code"] == "ktof_decode_error"
        assert body["line"] >= 1 and body["column"] >= 1
        assert f"line {body['line']}, column {body['column']}" in body["detail"]
        return
    assert response.status_code == 200, response.text
    assert response.json()["result"] == case["expected"]


def test_all_spec_cases_are_present(spec_fixtures_dir: Path) -> None:
    assert len(CASES) == SPEC_CASE_COUNT
    assert not set(KNOWN_DEVIATIONS) - {case_id for _, case_id, _ in CASES}


@pytest.mark.parametrize(
    ("kind", "case"),
    [
        pytest.param(kind, case, id=case_id)
        for kind, case_id, case in CASES
        if case_id not in KNOWN_DEVIATIONS
    ],
)
def test_spec_case(
    kaizen_http: httpx.Client, spec_fixtures_dir: Path, kind: str, case: Dict[str, Any]
) -> None:
    check_case(kaizen_http, kind, case)
