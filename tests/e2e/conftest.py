"""Fixtures of the real-Ray lane: one Ray head per session, a recording proxy in front of its dashboard."""

from __future__ import annotations

from typing import Iterator
from urllib.parse import urlsplit

import pytest

from tests.e2e.proxy import RecordingProxy
from tests.ray_head import RayHead, ray_head  # noqa: F401 - the session fixture


@pytest.fixture(scope="session")
def dashboard(ray_head: RayHead) -> Iterator[RecordingProxy]:  # noqa: F811
    parts = urlsplit(ray_head.dashboard_url)
    proxy = RecordingProxy(parts.hostname or "127.0.0.1", parts.port or 8265)
    try:
        yield proxy
    finally:
        proxy.close()
