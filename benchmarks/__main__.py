"""``python -m benchmarks`` (``make bench``): measure tokens and speed, write report and chart."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.datasets import load_datasets
from benchmarks.formats import json_characters
from benchmarks.latency import kaizen_server, measure_latency
from benchmarks.report import render_markdown, write_chart
from benchmarks.speed import measure_codec_speed, measure_streaming
from benchmarks.targets import Results, check_targets
from benchmarks.tokens import measure_delimiters, measure_tokens

OUTPUT_DIR = Path(__file__).resolve().parent


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--size",
        choices=("full", "small"),
        default="full",
        help="dataset sizes (small: a quick check)",
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="timeit repeats per measurement (median reported)"
    )
    parser.add_argument("--iterations", type=int, default=500, help="latency rounds per mode")
    parser.add_argument(
        "--no-server", action="store_true", help="skip the latency through `kaizen serve`"
    )
    parser.add_argument(
        "--output-dir", type=Path, default=OUTPUT_DIR, help="where results.md and savings.png go"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is not met")
    return parser.parse_args(argv)


# (component, fresh prompts) rows measured in each mode.
LATENCY_ROWS = {
    "embedded": (("langchain", True), ("langchain", False), ("client", True)),
    "kaizen serve (loopback HTTP)": (("langchain", True), ("client", True)),
}


def _measure_latencies(
    results: Results, options: argparse.Namespace, step: Callable[[str], None]
) -> None:
    """Latency rows: LangChain components and the bare client, embedded and served."""

    def rows(mode: str, base_url: str | None) -> None:
        for component, fresh in LATENCY_ROWS[mode]:
            try:
                result = measure_latency(
                    mode, base_url, component=component, fresh=fresh, iterations=options.iterations
                )
            except ImportError as error:
                results.notes.append(f"{mode} latency ({component}) not measured: {error}")
            else:
                results.latency.append(result)
        step(f"{mode} latency measured")

    rows("embedded", None)
    if options.no_server:
        results.notes.append("latency through `kaizen serve` not measured (--no-server)")
        return
    try:
        with kaizen_server() as base_url:
            rows("kaizen serve (loopback HTTP)", base_url)
    except RuntimeError as error:
        results.notes.append(f"latency through `kaizen serve` not measured: {error}")


def run(argv: list[str] | None = None) -> int:
    """Measure everything, write the report, print the targets; the exit status."""
    options = _arguments(argv)
    console = Console()
    started = time.perf_counter()
    results = Results()

    def step(message: str) -> None:
        console.print(f"[{time.perf_counter() - started:6.1f} s] {message}")

    datasets = load_datasets(options.size)
    results.datasets = [(d.name, d.description, json_characters(d)) for d in datasets]
    step(f"{len(datasets)} datasets generated ({options.size})")
    results.tokens = measure_tokens(datasets)
    step("tokens counted and round trips checked")
    results.delimiters = measure_delimiters(datasets)
    step("tokens counted with each delimiter")
    results.speed = measure_codec_speed(datasets, repeat=options.repeat)
    step("encode/decode speed measured")
    try:
        results.stream = measure_streaming(repeat=options.repeat)
        step("streaming decode measured")
    except ImportError as error:
        results.notes.append(f"streaming decode not measured: {error}")
    _measure_latencies(results, options, step)
    for note in results.notes:
        console.print(f"[yellow]note:[/yellow] {note}")

    options.output_dir.mkdir(parents=True, exist_ok=True)
    if write_chart(results, options.output_dir / "savings.png"):
        step(f"chart written to {options.output_dir / 'savings.png'}")
    markdown = render_markdown(results, seconds=time.perf_counter() - started)
    (options.output_dir / "results.md").write_text(markdown + "\n", encoding="utf-8")
    step(f"report written to {options.output_dir / 'results.md'}")

    table = Table(title="Targets")
    for column in ("target", "measured", "result"):
        table.add_column(column)
    targets = check_targets(results)
    for target in targets:
        style = {True: "green", False: "red", None: "yellow"}[target.met]
        label = {True: "met", False: "NOT met", None: "not measured"}[target.met]
        table.add_row(target.name, target.measured, f"[{style}]{label}[/{style}]")
    console.print(table)
    return 1 if options.strict and any(target.met is False for target in targets) else 0


if __name__ == "__main__":
    raise SystemExit(run())
