"""The targets of the savings-and-speed issue, checked against what this run measured."""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmarks.latency import LatencyResult
from benchmarks.speed import SpeedRow, StreamResult
from benchmarks.tokens import TOKENIZERS, DelimiterRow, TokenRow

# The encoders whose throughput the target asks for: spec TOON and the adaptive
# default on blocks of shapes seen before. The first block of a new shape also pays the
# delimiter comparison (token counts of a row sample) once per shape and process; the
# report gives its ratio next to these, it is a one-off latency, not a throughput.
THROUGHPUT_ENCODERS = ("ours toon", "ours auto")


@dataclass
class Results:
    """Everything one ``make bench`` run measured (parts left empty were not measured)."""

    datasets: list[tuple[str, str, int]] = field(default_factory=list)  # name, what, JSON chars
    tokens: list[TokenRow] = field(default_factory=list)
    delimiters: list[DelimiterRow] = field(default_factory=list)
    speed: list[SpeedRow] = field(default_factory=list)
    stream: StreamResult | None = None
    latency: list[LatencyResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Target:
    """One target: what it asks, what was measured, and whether it is met (None: not measured)."""

    name: str
    measured: str
    met: bool | None


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def check_targets(results: Results) -> list[Target]:
    """Every issue target, in the order the issue lists them."""
    targets: list[Target] = []
    for tokenizer in TOKENIZERS:
        rows = [row for row in results.tokens if row.tokenizer == tokenizer]
        if not rows:
            continue
        losers = [row.dataset for row in rows if not row.ours_meets_target]
        targets.append(
            Target(
                f"every dataset: ours <= min(compact JSON, toon-format) ({tokenizer})",
                f"{len(rows) - len(losers)}/{len(rows)} datasets"
                + (f"; over on {', '.join(losers)}" if losers else ""),
                not losers,
            )
        )
        ours = sum(row.tokens["ours"] for row in rows)
        minima = sum(row.best_baseline for row in rows)
        targets.append(
            Target(
                f"total ours <= 0.9 x sum of per-dataset minima ({tokenizer})",
                f"{ours:,} vs {minima:,} = {ours / minima:.3f} x",
                ours <= 0.9 * minima,
            )
        )
    if results.tokens:
        failures = [
            f"{row.dataset}/{fmt}/{row.tokenizer}"
            for row in results.tokens
            for fmt, ok in row.round_trip.items()
            if not ok
        ]
        checks = sum(len(row.round_trip) for row in results.tokens)
        targets.append(
            Target(
                "round trip exact on every dataset, every representation",
                f"{checks - len(failures)}/{checks} exact"
                + (f"; failed: {', '.join(failures)}" if failures else ""),
                not failures,
            )
        )
    if results.stream is not None:
        stream = results.stream
        targets.append(
            Target(
                f"stream decode ({stream.rows} rows, {stream.chunk_size}-char chunks)"
                " <= 2 x one-shot",
                f"{stream.ratio:.2f} x (medians {stream.stream_seconds * 1e3:.1f} ms vs"
                f" {stream.one_shot_seconds * 1e3:.1f} ms)"
                + ("" if stream.exact else "; result NOT exact"),
                stream.ratio <= 2.0 and stream.exact,
            )
        )
    else:
        targets.append(
            Target("stream decode (1000 rows, 8-char chunks) <= 2 x one-shot", "not measured", None)
        )
    embedded = next(
        (
            item
            for item in results.latency
            if item.mode == "embedded"
            and item.via.startswith("KaizenEncode")
            and item.prompts == "fresh"
        ),
        None,
    )
    if embedded is not None:
        targets.append(
            Target(
                "embedded KaizenEncode + KaizenDecode, 2 KB chat prompt: p50 < 1 ms",
                f"p50 {embedded.p50 * 1e3:.3f} ms, p95 {embedded.p95 * 1e3:.3f} ms",
                embedded.p50 < 1e-3,
            )
        )
    else:
        targets.append(
            Target(
                "embedded KaizenEncode + KaizenDecode, 2 KB chat prompt: p50 < 1 ms",
                "not measured",
                None,
            )
        )
    tabular = [row for row in results.speed if row.tabular]
    for encoder in THROUGHPUT_ENCODERS:
        if not tabular:
            break
        ratios = {row.dataset: row.encode_ratio(encoder) for row in tabular}
        slowest = min(ratios, key=ratios.__getitem__)
        targets.append(
            Target(
                f"encode throughput ({encoder}) >= json.dumps on tabular datasets",
                f"lowest ratio {ratios[slowest]:.2f} x ({slowest}); all: "
                + ", ".join(f"{name} {ratio:.2f}" for name, ratio in ratios.items()),
                all(ratio >= 1.0 for ratio in ratios.values()),
            )
        )
    return targets
