"""The ``kaizen`` console script: encode, decode, savings, serve, demo.

``encode``/``decode`` read a file (or stdin when the file is omitted or ``-``) and write to
stdout; errors go to stderr with the line and column of the offending input and a non-zero
exit code.
"""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.console import Console
from rich.table import Table

from . import engine
from .router import DEFAULT_MAX_BODY_BYTES

__all__ = ["app"]

app = typer.Typer(
    name="kaizen",
    help="Kaizen: JSON <-> KTOF (the TOON format with Kaizen's options), token savings, server.",
    no_args_is_help=True,
    add_completion=False,
)

_DELIMITER_NAMES = {
    ",": ",",
    "comma": ",",
    "\t": "\t",
    "tab": "\t",
    "\\t": "\t",
    "|": "|",
    "pipe": "|",
}
DEFAULT_SAVINGS_MODELS = ["gpt-4o", "gpt-4"]


class OutputFormat(str, Enum):
    """``toon``: the spec's output; ``auto``: the fewest tokens for ``--model``."""

    toon = "toon"
    auto = "auto"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def _read_input(file: Optional[Path]) -> str:
    if file is None or str(file) == "-":
        return sys.stdin.read()
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise _fail(f"{file} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(
            f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise _fail(f"{source}: JSON nested too deeply") from exc


def _delimiter(name: str) -> str:
    try:
        return _DELIMITER_NAMES[name]
    except KeyError:
        raise typer.BadParameter(f"{name!r} is not one of: , | tab (or comma, pipe)") from None


def _source_name(file: Optional[Path]) -> str:
    return "<stdin>" if file is None or str(file) == "-" else str(file)


@app.command()
def encode(
    file: Optional[Path] = typer.Argument(None, help="JSON file (default: stdin; '-' for stdin)."),
    indent: int = typer.Option(2, "--indent", min=1, help="Spaces per indentation level."),
    delimiter: str = typer.Option(",", "--delimiter", "-d", help="',', '|' or 'tab'."),
    length_marker: bool = typer.Option(False, "--length-marker", help="Write [#N] array headers."),
    output_format: OutputFormat = typer.Option(OutputFormat.toon, "--format", help="toon or auto."),
    model: Optional[str] = typer.Option(None, "--model", help="Target tokenizer of --format auto."),
) -> None:
    """Encode JSON as KTOF."""
    data = _parse_json(_read_input(file), _source_name(file))
    try:
        text = engine.encode(
            data,
            indent=indent,
            delimiter=_delimiter(delimiter),
            length_marker=length_marker,
            format=output_format.value,
            model=model,
        )
    except (engine.KTOFOptionError, engine.KTOFEncodeError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(text)


@app.command()
def decode(
    file: Optional[Path] = typer.Argument(None, help="KTOF file (default: stdin; '-' for stdin)."),
    indent: int = typer.Option(2, "--indent", min=1, help="Spaces per indentation level."),
    strict: bool = typer.Option(True, "--strict/--no-strict", help="Strict validation."),
    compact: bool = typer.Option(False, "--compact", help="Compact JSON instead of indented."),
) -> None:
    """Decode KTOF to JSON."""
    source = _source_name(file)
    try:
        value = engine.decode(_read_input(file), indent=indent, strict=strict)
    except engine.KTOFDecodeError as exc:
        raise _fail(
            f"{source}: malformed KTOF at line {exc.line}, column {exc.column}: {exc.msg}"
        ) from exc
    except engine.KTOFOptionError as exc:
        raise _fail(str(exc)) from exc
    if compact:
        typer.echo(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    else:
        typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


@app.command()
def savings(
    file: Path = typer.Argument(..., help="JSON file to measure."),
    models: List[str] = typer.Option(
        DEFAULT_SAVINGS_MODELS, "--model", "-m", help="Model to count tokens for (repeatable)."
    ),
) -> None:
    """Token counts per model: pretty JSON, compact JSON, TOON and KTOF (adaptive)."""
    data = _parse_json(_read_input(file), str(file))
    pretty = json.dumps(data, ensure_ascii=False, indent=2)
    compact = engine.compact_json(data)
    toon = engine.encode(data)
    table = Table(title=f"Token savings for {file.name}")
    columns = ("model", "pretty JSON", "JSON", "TOON", "KTOF auto", "saved vs JSON", "count")
    for column in columns:
        table.add_column(column, justify="left" if column in ("model", "count") else "right")
    for model in models:
        ktof = engine.encode(data, format="auto", model=model)
        json_tokens = engine.count_tokens(compact, model)
        ktof_tokens = engine.count_tokens(ktof, model).tokens
        saved = json_tokens.tokens - ktof_tokens
        ratio = saved / json_tokens.tokens if json_tokens.tokens else 0.0
        table.add_row(
            model,
            f"{engine.count_tokens(pretty, model).tokens:,}",
            f"{json_tokens.tokens:,}",
            f"{engine.count_tokens(toon, model).tokens:,}",
            f"{ktof_tokens:,}",
            f"{saved:,} ({ratio:.1%})",
            "exact" if json_tokens.exact else "estimate",
        )
    Console().print(table)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to bind."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
    max_body_bytes: int = typer.Option(
        DEFAULT_MAX_BODY_BYTES,
        "--max-body-bytes",
        min=1,
        help="Largest accepted request body (413 above).",
    ),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the Kaizen REST contract over HTTP (API keys from KAIZEN_SERVER_API_KEYS)."""
    try:
        import uvicorn
    except ModuleNotFoundError as exc:
        raise _fail(
            "kaizen serve needs uvicorn: pip install 'kaizen-integrations[server]'"
        ) from exc
    from .server import MAX_BODY_BYTES_ENV

    # Workers are separate processes that build the app from the environment.
    os.environ[MAX_BODY_BYTES_ENV] = str(max_body_bytes)
    uvicorn.run(
        "kaizen_core.server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )


@app.command()
def demo() -> None:
    """Run the demo: the main job on the embedded engine."""
    from .demo import main  # imported on use: the other commands need none of it

    main()


if __name__ == "__main__":
    app()
