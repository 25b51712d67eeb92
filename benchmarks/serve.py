"""Serve one benchmark variant under uvicorn: ``python -m benchmarks.serve NAME PORT [REDIS_URL]``.

uvicorn[standard]: uvloop and httptools, one worker. The app is built inside the server's
event loop (at lifespan startup), because some peers' Redis
clients bind to the loop that creates them.
"""

from __future__ import annotations

import sys
from typing import Any

from .apps import BY_NAME


class Lazy:
    """An ASGI app that builds the real one when the server starts."""

    def __init__(self, name: str, redis_url: str) -> None:
        self.variant = BY_NAME[name]
        self.redis_url = redis_url
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    try:
                        self.app = await self.variant.build(self.redis_url)
                    except Exception as exc:
                        await send({"type": "lifespan.startup.failed", "message": str(exc)})
                        return
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await self.app(scope, receive, send)


def main() -> None:
    import uvicorn

    name, port = sys.argv[1], int(sys.argv[2])
    redis_url = sys.argv[3] if len(sys.argv) > 3 else ""
    uvicorn.run(
        Lazy(name, redis_url),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        loop="uvloop",
        http="httptools",
    )


if __name__ == "__main__":
    main()
