"""The FastAPI test app: the middleware app-wide, `Protect` per route, a streamed response."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.responses import StreamingResponse
from starlette.requests import HTTPConnection
from sw_layers import Quota, Seen, make_shield

from shieldware import Decision, Shield
from shieldware.contrib.fastapi import Protect, install

shield = make_shield()


def api_key(connection: HTTPConnection) -> str | None:
    return connection.headers.get("x-api-key")


login_limit = Protect(Quota(1, name="login"), principal=api_key)
item_limit = Protect([Quota(2, name="item")])
own_shield = Protect(Shield([Quota(1, name="own")]))
stream_limit = Protect([Seen()])


def create_app() -> FastAPI:
    app = FastAPI()
    install(app, shield=shield)

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    @app.post("/login")
    async def login(decision: Annotated[Decision, Depends(login_limit)]) -> dict[str, str]:
        return {"action": decision.action.value, "rule": decision.verdict.rule}

    @app.get("/items/{item_id}", dependencies=[Depends(item_limit)])
    def item(item_id: int) -> dict[str, int]:
        return {"item": item_id}

    @app.get("/own")
    async def own(decision: Annotated[Decision, Depends(own_shield)]) -> dict[str, float]:
        return {"score": decision.score}

    @app.get("/stream")
    async def stream(decision: Annotated[Decision, Depends(stream_limit)]) -> StreamingResponse:
        def body() -> Iterator[bytes]:
            yield b"one\n"
            yield b"two\n"

        return StreamingResponse(body(), media_type="text/plain", headers=dict(decision.headers))

    return app


app = create_app()
