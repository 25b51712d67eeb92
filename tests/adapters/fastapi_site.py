"""The FastAPI side of the contract: every route guarded by `Protect` (its annotations must
resolve at module level, hence a module of its own)."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Response
from fastapi.responses import PlainTextResponse, StreamingResponse

from shieldware import Shield
from shieldware.contrib.fastapi import Protect, install
from tests.adapters.kit import OK, PUBLIC, STREAM, user_of


def build(shield: Shield) -> FastAPI:
    guard = Protect(shield, principal=lambda connection: user_of(connection.headers))
    app = FastAPI(dependencies=[Depends(guard)])
    install(app)

    @app.get("/", response_class=PlainTextResponse)
    @app.get("/api", response_class=PlainTextResponse)
    async def home(response: Response) -> str:
        response.headers["x-app"] = "1"  # FastAPI builds the response: the decision's headers join
        return OK.decode()

    @app.get("/public", response_class=PlainTextResponse)
    async def public(response: Response) -> str:
        response.headers["cache-control"] = PUBLIC
        return OK.decode()

    @app.get("/items/{item_id}", response_class=PlainTextResponse)
    async def item(item_id: int) -> str:
        return str(item_id)

    @app.get("/raise")
    async def fail() -> None:
        raise RuntimeError("the app failed")

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        return StreamingResponse(iter(STREAM), media_type="text/plain")

    return app
