"""A tiny app for the two-worker test: ``uvicorn tests.attack_app:app --workers 2``.

Its shield lives on the store in ``SW_ATTACK_STORE``; every response (the app's and the shield's)
says which worker answered (``x-worker-pid``) and whether that worker runs the attack chain.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from shieldware import Shield
from shieldware.asgi import ShieldMiddleware
from shieldware.attack import AttackProfile
from shieldware.layers import ProofOfWork, TokenBucket
from shieldware.match import path
from tests.conftest import SECRET

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

shield = Shield(
    [TokenBucket("100000/second"), ProofOfWork(SECRET, match=path("/login"))],
    store=os.environ["SW_ATTACK_STORE"],
    attack=AttackProfile(),
)
PID = str(os.getpid()).encode()


async def site(scope: Any, receive: Any, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok\n"})


protected = ShieldMiddleware(site, shield=shield)


async def app(scope: Any, receive: Any, send: Send) -> None:
    if scope["type"] != "http":
        await protected(scope, receive, send)
        return

    async def marking(message: Message) -> None:
        if message["type"] == "http.response.start":
            active = b"1" if shield.switch is not None and shield.switch.active else b"0"
            extra = [(b"x-worker-pid", PID), (b"x-attack", active)]
            message["headers"] = [*message.get("headers", ()), *extra]
        await send(message)

    await protected(scope, receive, marking)
