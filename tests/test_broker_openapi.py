"""The OpenAPI document is complete and true: every route is in it, every path in it is routed,
and schemathesis, generating requests from it against a real server, finds no server error."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from axis.config import AxisConfig
from axis.http.app import create_app
from axis.http.openapi import spec
from tests.axis_server import AxisHttp, RunningAxis

SCHEMA = schemathesis.openapi.from_dict(spec())


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    config = AxisConfig(home=tmp_path_factory.mktemp("openapi-home"), intake_workers=1)
    with RunningAxis(config) as axis:
        client: AxisHttp = axis.add_system("admin", ("000.00.00.G22",), role="admin")
        token = base64.b64encode(f"admin:{client._auth_secret}".encode()).decode()
        yield f"http://127.0.0.1:{axis.port}", {"Authorization": f"Basic {token}"}


def test_every_route_is_described_and_every_description_routed() -> None:
    app = create_app(AxisConfig(), adapters={})  # adapters describe their own routes
    routed = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD"
        and route.resource is not None
        and not route.resource.canonical.startswith("/console")  # HTML pages, not the API
    }
    described = {
        (method.upper(), path)
        for path, operations in spec()["paths"].items()
        for method in operations
    }
    routed = {(m, p.replace("{action:retry|cancel}", "{action}")) for m, p in routed}
    assert routed == described


@SCHEMA.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_generated_request_makes_a_server_error(
    case: schemathesis.Case, admin: tuple[str, dict[str, str]]
) -> None:
    base_url, headers = admin
    if case.path == "/v1/inbox" and case.query:
        case.query["wait"] = 0  # a long poll only waits; nothing to learn from waiting here
    case.call_and_validate(base_url=base_url, headers=headers, checks=[not_a_server_error])
