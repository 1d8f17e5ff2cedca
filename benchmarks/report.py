"""Write the measured results as Markdown (``results.md``) and a chart (``savings.png``)."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.formats import FORMAT_LABELS, FORMATS
from benchmarks.speed import DECODERS, ENCODERS, RATIOS
from benchmarks.targets import Results, Target, check_targets
from benchmarks.tokens import DELIMITERS, TOKENIZERS

PUBLISHED_GITHUB_O200K = {"pretty_json": 15_337, "compact_json": 11_640, "toon": 8_937}


def _cpu() -> str:
    """The CPU model and count, as far as the platform tells."""
    name = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    load = (
        f", load average {os.getloadavg()[0]:.1f} at the end" if hasattr(os, "getloadavg") else ""
    )
    return f"{name or 'unknown CPU'} x {os.cpu_count()}{load}"


def _mark(met: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "not measured"}[met]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _targets_section(targets: list[Target]) -> list[str]:
    return [
        "## Targets",
        "",
        *_table(
            ["target", "measured", "result"], [[t.name, t.measured, _mark(t.met)] for t in targets]
        ),
        "",
    ]


def _datasets_section(results: Results) -> list[str]:
    if not results.datasets:
        return []
    rows = [[name, what, f"{chars:,}"] for name, what, chars in results.datasets]
    return [
        "## Datasets",
        "",
        "Generated with a fixed seed (`benchmarks/datasets.py`) in the shapes of the TOON",
        "project's token benchmark, plus its real github-repos.json. For chat transcripts only the",
        "message contents are counted; tool results are re-written in each representation.",
        "",
        *_table(["dataset", "what", "compact JSON chars"], rows),
        "",
    ]


def _tokens_section(results: Results, tokenizer: str) -> list[str]:
    rows = [row for row in results.tokens if row.tokenizer == tokenizer]
    if not rows:
        return []
    body = []
    for row in rows:
        saved = 1 - row.tokens["ours"] / row.tokens["pretty_json"]
        vs_best = row.tokens["ours"] / row.best_baseline - 1
        body.append(
            [
                row.dataset,
                *(f"{row.tokens[fmt]:,}" for fmt in FORMATS),
                f"{saved * 100:.1f}%",
                f"{vs_best * 100:+.1f}%",
                "yes" if all(row.round_trip.values()) else "NO",
            ]
        )
    totals = {fmt: sum(row.tokens[fmt] for row in rows) for fmt in FORMATS}
    minima = sum(row.best_baseline for row in rows)
    body.append(
        [
            "**total**",
            *(f"**{totals[fmt]:,}**" for fmt in FORMATS),
            f"**{(1 - totals['ours'] / totals['pretty_json']) * 100:.1f}%**",
            f"**{(totals['ours'] / minima - 1) * 100:+.1f}%**",
            "",
        ]
    )
    header = [
        "dataset",
        *(FORMAT_LABELS[fmt] for fmt in FORMATS),
        "saved vs pretty",
        "ours vs min(compact, toon)",
        "round trip",
    ]
    return [f"## Tokens, {tokenizer}", "", *_table(header, body), ""]


def _reference_section(results: Results) -> list[str]:
    row = next(
        (r for r in results.tokens if r.dataset == "github-repos" and r.tokenizer == "o200k_base"),
        None,
    )
    if row is None:
        return [
            "## Reference check",
            "",
            "github-repos.json was absent; the check against the TOON project's numbers",
            "was skipped.",
            "",
        ]
    body = [
        [
            FORMAT_LABELS[fmt],
            f"{published:,}",
            f"{row.tokens[fmt]:,}",
            f"{row.tokens[fmt] - published:+d}",
        ]
        for fmt, published in PUBLISHED_GITHUB_O200K.items()
    ]
    return [
        "## Reference check: github-repos.json, o200k_base",
        "",
        "The TOON project's published counts for the same file",
        '(wrapped as `{"repositories": [...]}`,',
        "JSON written without ASCII escapes as JavaScript does) against this run's counts:",
        "",
        *_table(["representation", "published", "measured", "difference"], body),
        "",
    ]


def _delimiters_section(results: Results) -> list[str]:
    if not results.delimiters:
        return []
    rows = []
    for row in results.delimiters:
        fewest = min(DELIMITERS, key=row.tokens.__getitem__)
        rows.append(
            [
                row.dataset,
                row.tokenizer,
                *(f"{row.tokens[delimiter]:,}" for delimiter in DELIMITERS),
                DELIMITERS[fewest],
                f"{row.pipe_fewest}/{row.blocks}",
            ]
        )
    blocks = sum(row.blocks for row in results.delimiters)
    pipe = sum(row.pipe_fewest for row in results.delimiters)
    return [
        "## Delimiters",
        "",
        "Adaptive KTOF written with each delimiter and no candidate search (what",
        '`format="auto"` renders before comparing). `format="auto"` compares `,` and tab (and',
        "`|` when asked for it): tab never quotes a cell that `|` leaves bare, so `|` could",
        "only win on how the tokenizer merges it with its neighbours. Blocks (values and",
        f"tool payloads, per tokenizer) where `|` had the fewest tokens: {pipe} of {blocks}.",
        "",
        *_table(
            [
                "dataset",
                "tokenizer",
                *DELIMITERS.values(),
                "fewest",
                "blocks where `|` is fewest",
            ],
            rows,
        ),
        "",
    ]


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def _speed_section(results: Results) -> list[str]:
    if not results.speed:
        return []
    encode_rows = [
        [
            row.dataset,
            *(_ms(row.encode[name]) for name in ENCODERS),
            *(f"{row.encode_ratio(name):.2f}" for name in RATIOS),
        ]
        for row in results.speed
    ]
    decode_rows = [
        [
            row.dataset,
            *(_ms(row.decode[name]) for name in DECODERS),
            f"{row.decode['json.loads'] / row.decode['ours decode']:.3f}",
        ]
        for row in results.speed
    ]
    return [
        "## Encode and decode speed (median ms per dataset, same run)",
        "",
        "Ratio = json.dumps time / ours time (1.00 or more: at least json.dumps' throughput),",
        "the median of 21 rounds that each time json.dumps and ours back to back (the ms",
        "columns are medians of separate runs, so their quotient can differ a little).",
        '"ours auto" is timed with the engine\'s cache of adaptive encodings emptied before',
        "each call, so every call pays the full encode; it keeps the delimiters chosen for",
        "table shapes, as a process does for the next result of a tool it has seen before.",
        '"ours auto, new shapes" empties that too: the first block of its shapes the process',
        "sees, which samples rows and counts their tokens to choose the delimiter. That is paid",
        "once per shape and process, so it is reported here but is not a throughput target.",
        "",
        *_table(["dataset", *ENCODERS, *(f"ratio {name[5:]}" for name in RATIOS)], encode_rows),
        "",
        *_table(["dataset", *DECODERS, "json.loads / ours"], decode_rows),
        "",
    ]


def _stream_latency_section(results: Results) -> list[str]:
    lines: list[str] = []
    if results.stream is not None:
        s = results.stream
        lines += [
            "## Streaming decode",
            "",
            (
                f"A {s.rows}-row table ({s.characters:,} characters) fed to `StreamDecoder` in "
                f"{s.chunks:,} chunks of {s.chunk_size} characters; {s.rows_emitted:,} rows came "
                "out of `feed()` as their chunks arrived, the rest from `close()` (the text has "
                f"no final newline); result exact: {'yes' if s.exact else 'NO'}."
            ),
            "",
            *_table(
                ["one-shot decode ms", "streaming total ms", "ratio (paired rounds)"],
                [[_ms(s.one_shot_seconds), _ms(s.stream_seconds), f"{s.ratio:.2f}"]],
            ),
            "",
        ]
    if results.latency:
        lines += [
            "## Added latency of the encode + decode step (~2 KB chat prompt)",
            "",
            "One round = encode the chat prompt (JSON tool result inside) + decode a KTOF answer.",
            '"fresh": a different prompt every round (no cache can answer, as with real tool',
            'results); "repeated": one prompt over and over (the engine\'s cache of repeated blocks).',
            "",
            *_table(
                [
                    "mode",
                    "measured",
                    "prompts",
                    "rounds",
                    "mean bytes",
                    "p50 ms",
                    "p95 ms",
                    "exact",
                ],
                [
                    [
                        r.mode,
                        r.via,
                        r.prompts,
                        str(r.iterations),
                        f"{r.mean_prompt_bytes:,.0f}",
                        f"{r.p50 * 1e3:.3f}",
                        f"{r.p95 * 1e3:.3f}",
                        "yes" if r.exact else "NO",
                    ]
                    for r in results.latency
                ],
            ),
            "",
        ]
    return lines


def render_markdown(results: Results, *, seconds: float) -> str:
    """The whole ``results.md`` text."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        (
            f"Written by `make bench` on {when} in {seconds:.0f} s: Python "
            f"{platform.python_version()}, {platform.system()} {platform.machine()}, {_cpu()}."
        ),
        "Every number below is measured in this run; nothing is copied in except the TOON",
        "project's published reference counts. Token counts are offline (`bpe-openai`);",
        '"Kaizen auto" is `kaizen_core.engine.encode(format="auto")` for the tokenizer\'s model',
        f"({', '.join(f'{t}: {m}' for t, m in TOKENIZERS.items())}).",
        "",
        "![token savings](savings.png)",
        "",
        *_targets_section(check_targets(results)),
    ]
    lines += _datasets_section(results)
    for tokenizer in TOKENIZERS:
        lines += _tokens_section(results, tokenizer)
    lines += _reference_section(results) if results.tokens else []
    lines += _delimiters_section(results)
    lines += _speed_section(results)
    lines += _stream_latency_section(results)
    if results.notes:
        lines += ["## Notes", "", *(f"- {note}" for note in results.notes), ""]
    return "\n".join(lines)


def write_chart(results: Results, path: Path) -> bool:
    """Tokens per dataset relative to pretty JSON (o200k_base), one bar per representation."""
    rows = [row for row in results.tokens if row.tokenizer == "o200k_base"]
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(11, 5.5))
    width = 0.8 / len(FORMATS)
    for index, fmt in enumerate(FORMATS):
        shares = [row.tokens[fmt] / row.tokens["pretty_json"] * 100 for row in rows]
        positions = [
            number + (index - (len(FORMATS) - 1) / 2) * width for number in range(len(rows))
        ]
        axes.bar(positions, shares, width, label=FORMAT_LABELS[fmt])
    axes.set_xticks(range(len(rows)), [row.dataset for row in rows], rotation=25, ha="right")
    axes.set_ylabel("tokens, % of pretty JSON (o200k_base)")
    axes.set_title("Tokens per representation (lower is better)")
    axes.set_ylim(0, 118)
    axes.legend(loc="upper center", ncol=len(FORMATS), frameon=False)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return True
