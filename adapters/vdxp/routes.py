"""``POST /vdxp/{operation}``: authenticate, dispatch, answer the envelope, whatever happens.

The axis's problem middleware wraps every route, but a VDXP client cannot read a problem body:
so every outcome, including an unknown operation, a wrong method and an unexpected failure, is
turned into the VDXP envelope here, with HTTP 200 (``adapters.vdxp.wire``). Operation names
match case-insensitively (``/vdxp/sendEdoc`` and ``/vdxp/sendedoc``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any, Final

import structlog
from aiohttp import web

from adapters.vdxp import agencies, documents
from adapters.vdxp.auth import VdxpAuthenticator
from adapters.vdxp.documents import Call, Operation
from adapters.vdxp.wire import fail
from axis.runtime import Runtime
from edxml import CodedError

_log = structlog.get_logger("adapters.vdxp")

PREFIX: Final = "/vdxp/"
OPERATIONS: Final[dict[str, Operation]] = {
    "sendedoc": documents.send_edoc,
    "getreceivededoclist": documents.received_list,
    "getsentedoclist": documents.sent_list,
    "getedoc": documents.get_edoc,
    "updatestatus": documents.update_status,
    "getagencieslist": agencies.agencies_list,
    "getsynchronizeunit": agencies.synchronize_unit,
    "registeragency": agencies.register_agency,
    "deleteagency": agencies.delete_agency,
}


def envelope(body: dict[str, Any]) -> web.Response:
    """The JSON answer, UTF-8 with Vietnamese as written, always HTTP 200."""
    return web.Response(
        text=json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        charset="utf-8",
    )


def handler(
    authenticator: VdxpAuthenticator, runtime: Callable[[], Runtime]
) -> Callable[[web.Request], Any]:
    """The one route's handler, bound to the adapter's authenticator and the runtime."""

    async def handle(request: web.Request) -> web.Response:
        name = request.match_info.get("operation", "")
        try:
            operation = OPERATIONS.get(name.lower())
            if operation is None:
                return envelope(fail("vdxp.unknown_operation", f"no operation {name!r}"))
            if request.method != "POST":
                return envelope(fail("vdxp.method", f"{name} is called with POST"))
            current = runtime()
            caller, params = await authenticator.authenticate(request, current, name)
            call = Call(request=request, runtime=current, caller=caller, params=params)
            return envelope(await operation(call))
        except CodedError as error:
            _log.info("vdxp.refused", operation=name, code=error.code)
            return envelope(fail(error.code, error.message))
        except Exception:
            incident = uuid.uuid4().hex[:12]
            _log.exception("vdxp.internal_error", incident=incident, operation=name)
            return envelope(
                fail("internal.error", f"the axis failed on this request; incident {incident}")
            )

    return handle
