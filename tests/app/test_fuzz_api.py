"""Schemathesis against the service's own OpenAPI description, on a live loopback server.

Every operation gets generated input, valid (positive) and invalid (negative): no answer may
be a 5xx, every answer must conform to the described schema and status codes, and every 4xx
must carry a message. Bounded: EXAMPLES per operation and mode; the calls are counted.
(Schemathesis' pytest plugin does not run under pytest 9 yet, so the strategies are driven
by Hypothesis directly.)
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from schemathesis.checks import positive_data_acceptance

from app.main import create_app
from indexer.settings import Settings

EXAMPLES = 140
MIN_CALLS = 1000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_url(sample_home: Settings) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(sample_home), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _operations(url: str) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def test_every_operation_conforms_and_never_fails(live_url: str) -> None:
    calls: dict[str, int] = {}
    operations = _operations(live_url)
    assert {op.path for op in operations} >= {"/api/search", "/api/documents", "/api/documents/{document_id}", "/healthz"}
    for operation in operations:
        for mode in schemathesis.GenerationMode:
            label = f"{operation.method.upper()} {operation.path} {mode.value}"

            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: schemathesis.Case) -> None:
                response = case.call(base_url=live_url, timeout=30)
                calls[label] = calls.get(label, 0) + 1
                assert response.status_code < 500, (label, case.as_curl_command(), response.text)
                # A query language is not expressible in JSON Schema: a schema-valid `q`
                # such as "(" is rightly refused with 400, so positive-data acceptance is off.
                case.validate_response(response, excluded_checks=[positive_data_acceptance])
                if 400 <= response.status_code < 500:
                    assert response.json()["message"], (label, response.text)

            try:
                run()
            except Unsatisfiable:
                # an operation without parameters has no invalid input to generate
                assert mode is schemathesis.GenerationMode.NEGATIVE, label
    assert sum(calls.values()) >= MIN_CALLS, calls
