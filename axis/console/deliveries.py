"""Dead letters: deliveries that failed or ran out of attempts, and an admin's retry or cancel.

The actions are :func:`axis.admin.act_on_delivery`, the same call as ``POST
/v1/deliveries/{id}/{code}/retry|cancel`` and ``axis deliveries retry|cancel``, audited with
the admin's system id and address.
"""

from __future__ import annotations

from typing import Final, cast
from urllib.parse import quote

from aiohttp import web

from axis.admin import DeliveryAction, act_on_delivery
from axis.console.web import PREFIX, address_of, render, runtime_of, see_other, viewer_of

routes = web.RouteTableDef()

PAGE: Final = 100


@routes.get("/deliveries")
async def dead_letters(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    page = await runtime.store.dead_letters(after=request.query.get("after") or None, limit=PAGE)
    return render(
        request,
        "deliveries.html",
        {
            "items": page.items,
            "cursor": page.cursor,
            "done": request.query.get("done", ""),
            "done_code": request.query.get("code", ""),
            "done_message": request.query.get("message", ""),
        },
    )


@routes.post("/deliveries/{message_id}/{code}/{action:retry|cancel}")
async def act(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    message_id = request.match_info["message_id"]
    code = request.match_info["code"].upper()
    action = cast(DeliveryAction, request.match_info["action"])
    await act_on_delivery(
        runtime.store,
        action,
        message_id,
        code,
        runtime.now(),
        system_id=viewer_of(request).record.system_id,
        address=address_of(request),
    )
    return see_other(
        f"{PREFIX}deliveries?done={action}&code={quote(code)}&message={quote(message_id)}"
    )
