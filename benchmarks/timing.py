"""Small timing helpers: medians of ``timeit`` repeats and latency percentiles."""

from __future__ import annotations

import statistics
import timeit
from collections.abc import Callable


def median_seconds(
    function: Callable[[], object], *, repeat: int = 5, min_repeat_seconds: float = 0.05
) -> float:
    """Median wall time of one call of ``function``, over ``repeat`` timeit repeats.

    Each repeat runs ``function`` enough times to last at least ``min_repeat_seconds``
    (calibrated once), so fast calls are not drowned by timer resolution.
    """
    timer = timeit.Timer(function)
    number = _calibrate(timer, min_repeat_seconds)
    runs = timer.repeat(repeat=repeat, number=number)
    return statistics.median(runs) / number


def paired_ratio(
    baseline: Callable[[], object],
    candidate: Callable[[], object],
    *,
    rounds: int = 21,
    min_round_seconds: float = 0.005,
) -> float:
    """Median over ``rounds`` of (``baseline`` time / ``candidate`` time), timed back to back.

    Each round times the same number of calls of each (enough for the baseline to last
    ``min_round_seconds``), so both meet the same machine state and drift (frequency, other
    load) cancels in the ratio instead of landing on whichever was timed in a slower moment;
    which one goes first alternates from round to round.
    """
    first, second = timeit.Timer(baseline), timeit.Timer(candidate)
    number = _calibrate(first, min_round_seconds)
    ratios = []
    for round_ in range(rounds):
        if round_ % 2:
            other = second.timeit(number)
            ratios.append(first.timeit(number) / other)
        else:
            ratios.append(first.timeit(number) / second.timeit(number))
    return statistics.median(ratios)


def _calibrate(timer: timeit.Timer, target: float) -> int:
    """The smallest loop count (1, then growing) whose run lasts at least ``target`` seconds."""
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= target or number >= 1_000_000:
            return number
        number *= 2 if elapsed > target / 10 else 10


def percentiles(samples: list[float], points: tuple[int, ...] = (50, 95)) -> dict[int, float]:
    """The given percentiles of ``samples`` (inclusive method, as numpy's default 'linear')."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {point: cuts[point - 1] for point in points}


def latency_samples(function: Callable[[int], object], *, first: int, stop: int) -> list[float]:
    """Wall time of ``function(index)`` for each index in ``range(first, stop)``.

    The caller runs ``range(0, first)`` untimed beforehand as warm-up (and checks the results).
    """
    clock = timeit.default_timer
    samples = []
    for index in range(first, stop):
        start = clock()
        function(index)
        samples.append(clock() - start)
    return samples
