"""Re-pointing a runnable built around the inner model at the wrapper.

``bind_tools`` and ``with_structured_output`` of the inner model produce the right request
options (tool formatting, ``response_format``, ``ls_structured_output_format``) and
parsers; ``rebind`` returns the same structure with every use of the inner model replaced
by the wrapper, so those options reach the wrapper's ``_generate``/``_stream`` (which
compress the prompt) and its callbacks fire once.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import (
    Runnable,
    RunnableBinding,
    RunnableParallel,
    RunnableSequence,
)
from langchain_core.runnables.fallbacks import RunnableWithFallbacks
from langchain_core.runnables.passthrough import RunnableAssign

__all__ = ["rebind"]


def rebind(runnable: Any, inner: Runnable, outer: Runnable) -> Any:
    """``runnable`` with ``inner`` replaced by ``outer`` wherever it occurs."""
    if runnable is inner:
        return outer
    if isinstance(runnable, RunnableBinding):
        bound = rebind(runnable.bound, inner, outer)
        if bound is runnable.bound:
            return runnable
        return runnable.__class__(
            bound=bound,
            kwargs=runnable.kwargs,
            config=runnable.config,
            config_factories=runnable.config_factories,
            custom_input_type=runnable.custom_input_type,
            custom_output_type=runnable.custom_output_type,
        )
    if isinstance(runnable, RunnableSequence):
        steps = [rebind(step, inner, outer) for step in runnable.steps]
        if all(new is old for new, old in zip(steps, runnable.steps)):
            return runnable
        return RunnableSequence(*steps, name=runnable.name)
    if isinstance(runnable, RunnableParallel):
        steps_map = {key: rebind(step, inner, outer) for key, step in runnable.steps__.items()}
        if all(steps_map[k] is runnable.steps__[k] for k in steps_map):
            return runnable
        return RunnableParallel(steps__=steps_map)
    if isinstance(runnable, RunnableAssign):
        mapper = rebind(runnable.mapper, inner, outer)
        return runnable if mapper is runnable.mapper else RunnableAssign(mapper=mapper)
    if isinstance(runnable, RunnableWithFallbacks):
        main = rebind(runnable.runnable, inner, outer)
        fallbacks = [rebind(f, inner, outer) for f in runnable.fallbacks]
        return runnable.model_copy(update={"runnable": main, "fallbacks": fallbacks})
    return runnable
