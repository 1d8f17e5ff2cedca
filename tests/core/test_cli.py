"""The `kaizen` console script: encode, decode, savings (serve: see conftest's server; demo:
tests/test_demo.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kaizen_core import engine
from kaizen_core.cli import app

runner = CliRunner()
USERS = {"users": [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}], "tags": ["a", "b"]}


def test_encode_from_stdin() -> None:
    result = runner.invoke(app, ["encode"], input=json.dumps(USERS))
    assert result.exit_code == 0, result.output
    assert result.stdout == engine.encode(USERS) + "\n"


def test_encode_from_a_file_with_options(tmp_path: Path) -> None:
    source = tmp_path / "users.json"
    source.write_text(json.dumps(USERS), encoding="utf-8")
    result = runner.invoke(
        app, ["encode", str(source), "--delimiter", "tab", "--indent", "4", "--length-marker"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "users[#2\t]{id\tname}:\n    1\tAda\n    2\tBob\ntags[#2\t]: a\tb\n"


@pytest.mark.parametrize(
    ("flag", "char"),
    [(",", ","), ("comma", ","), ("|", "|"), ("pipe", "|"), ("tab", "\t"), ("\t", "\t")],
)
def test_delimiter_spellings(flag: str, char: str) -> None:
    result = runner.invoke(app, ["encode", "--delimiter", flag], input='{"t": [1, 2]}')
    assert result.stdout == engine.encode({"t": [1, 2]}, delimiter=char) + "\n"


def test_unknown_delimiter_is_refused() -> None:
    result = runner.invoke(app, ["encode", "--delimiter", ";"], input="[1]")
    assert result.exit_code != 0 and "';' is not one of" in result.output


def test_encode_auto_format_reads_back() -> None:
    result = runner.invoke(
        app, ["encode", "--format", "auto", "--model", "gpt-4o"], input=json.dumps(USERS)
    )
    assert result.exit_code == 0 and engine.decode(result.stdout.rstrip("\n")) == USERS


def test_encode_reports_invalid_json_with_line_and_column() -> None:
    result = runner.invoke(app, ["encode"], input='{\n  "a": 1,\n  "b": }')
    assert result.exit_code == 1 and result.stdout == ""
    assert "<stdin>: invalid JSON at line 3, column 8" in result.stderr


def test_decode_from_stdin_and_file(tmp_path: Path) -> None:
    text = engine.encode(USERS)
    from_stdin = runner.invoke(app, ["decode"], input=text)
    assert from_stdin.exit_code == 0 and json.loads(from_stdin.stdout) == USERS
    source = tmp_path / "users.ktof"
    source.write_text(text, encoding="utf-8")
    compact = runner.invoke(app, ["decode", str(source), "--compact"])
    assert compact.stdout == json.dumps(USERS, separators=(",", ":")) + "\n"


def test_decode_strictness_and_indent() -> None:
    text = "a:\n   b: 1"
    strict = runner.invoke(app, ["decode"], input=text)
    assert strict.exit_code == 1 and "line 2, column" in strict.stderr
    lenient = runner.invoke(app, ["decode", "--no-strict"], input=text)
    assert lenient.exit_code == 0 and json.loads(lenient.stdout) == {"a": {"b": 1}}
    three = runner.invoke(app, ["decode", "--indent", "3", "--compact"], input=text)
    assert three.stdout == '{"a":{"b":1}}\n'


def test_decode_reports_malformed_ktof_with_line_and_column(tmp_path: Path) -> None:
    source = tmp_path / "bad.ktof"
    source.write_text("users[2]{id,name}:\n  1,Ada\n  2", encoding="utf-8")
    result = runner.invoke(app, ["decode", str(source)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error: {source}: malformed KTOF at line 3, column ")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["decode", str(tmp_path / "absent.ktof")])
    assert result.exit_code == 1 and "cannot read" in result.stderr


def test_savings_table(tmp_path: Path) -> None:
    rows = [{"id": i, "name": f"user-{i}", "active": i % 2 == 0} for i in range(50)]
    source = tmp_path / "rows.json"
    source.write_text(json.dumps(rows), encoding="utf-8")
    result = runner.invoke(
        app,
        ["savings", str(source), "--model", "gpt-4o", "--model", "claude-3-5-sonnet"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    compact = engine.count_tokens(engine.compact_json(rows), "gpt-4o").tokens
    toon = engine.count_tokens(engine.encode(rows), "gpt-4o").tokens
    ktof = engine.count_tokens(engine.encode(rows, format="auto", model="gpt-4o"), "gpt-4o").tokens
    gpt_line = next(line for line in result.stdout.splitlines() if "gpt-4o" in line)
    cells = [cell.strip() for cell in gpt_line.split("│")]
    assert cells[3:6] == [f"{compact:,}", f"{toon:,}", f"{ktof:,}"] and "exact" in gpt_line
    claude_line = next(line for line in result.stdout.splitlines() if "claude-3-5-sonnet" in line)
    assert "estimate" in claude_line


def test_real_subprocess_round_trip(tmp_path: Path) -> None:
    """The installed CLI module in a fresh interpreter: encode, then decode its output."""
    encoded = subprocess.run(
        [sys.executable, "-m", "kaizen_core.cli", "encode", "--delimiter", "|"],
        input=json.dumps(USERS).encode(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert encoded.stdout.decode() == engine.encode(USERS, delimiter="|") + "\n"
    decoded = subprocess.run(
        [sys.executable, "-m", "kaizen_core.cli", "decode", "--compact"],
        input=encoded.stdout,
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert json.loads(decoded.stdout) == USERS
    failed = subprocess.run(
        [sys.executable, "-m", "kaizen_core.cli", "decode"],
        input=b"a[2]: 1",
        capture_output=True,
        timeout=60,
    )
    assert failed.returncode == 1 and b"line 1, column" in failed.stderr and failed.stdout == b""
