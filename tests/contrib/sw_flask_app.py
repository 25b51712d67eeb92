"""The Flask test app: the extension app-wide, a per-view limit, a streamed response."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from sw_layers import Quota, make_shield

from shieldware.contrib.flask import Shieldware, decision_of, protect

shield = make_shield()
shieldware = Shieldware(shield=shield, principal=lambda: request.headers.get("x-user"))


def _describe() -> Response:
    decision = decision_of()
    return jsonify(
        ok=True,
        action=decision.action.value if decision else None,
        rule=decision.verdict.rule if decision else None,
    )


def create_app() -> Flask:
    app = Flask(__name__)
    shieldware.init_app(app)

    @app.get("/hello")
    def hello() -> Response:
        return _describe()

    @app.get("/items/<int:pk>")
    def item(pk: int) -> Response:
        return _describe()

    @app.post("/login")
    @shieldware.protect(Quota(1, name="login"))
    def login() -> Response:
        return _describe()

    @app.get("/signup")
    @protect(Quota(1, name="signup"))
    def signup() -> Response:
        return _describe()

    @app.get("/stream")
    def stream() -> Response:
        return Response(iter([b"one\n", b"two\n"]), mimetype="text/plain")

    return app


app = create_app()
