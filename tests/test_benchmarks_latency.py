"""The latency benchmark's rounds: exact outcomes, and every Kaizen client it opens is closed."""

from __future__ import annotations

import pytest
from kaizen_core import KaizenSyncClient

from benchmarks.latency import measure_latency


@pytest.mark.parametrize("component", ["client", "langchain"])
def test_a_short_embedded_run_is_exact_and_closes_its_clients(
    component: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("KAIZEN_BASE_URL", "KAIZEN_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    opened: list[KaizenSyncClient] = []
    original_init = KaizenSyncClient.__init__

    def recording_init(self: KaizenSyncClient, *args: object, **kwargs: object) -> None:
        original_init(self, *args, **kwargs)  # type: ignore[arg-type]
        opened.append(self)

    monkeypatch.setattr(KaizenSyncClient, "__init__", recording_init)
    result = measure_latency("embedded", None, component=component, iterations=3, warmup=2)
    assert result.exact and result.iterations == 3
    assert all(client._client.is_closed for client in opened)
    if component == "client":
        assert opened  # the bare-client round builds one
