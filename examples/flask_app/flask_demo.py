"""A small Flask site protected two ways: as a plain WSGI app, and with the extension.

Run it:  flask --app examples/flask_app/flask_demo.py run

``create_app("extension")`` (the default) decides inside Flask, after routing: it knows the route
template and the logged-in user. ``create_app("wsgi")`` wraps ``app.wsgi_app`` in
`ShieldWSGIMiddleware`: it sees every request before Flask does and needs no Flask knowledge. In
both, the login form and the per-user API have their own per-view limits.
"""

from __future__ import annotations

import os
from typing import Literal, cast

from flask import Flask, Response, jsonify, request, session

from shieldware import IPList, Shield, ShieldWSGIMiddleware
from shieldware.contrib.flask import Shieldware, decision_of
from shieldware.keys import by_ip, by_principal
from shieldware.layers import TokenBucket
from shieldware.match import method

#: Documentation networks stand in for the addresses you would deny.
DENY = os.environ.get("FLASK_DEMO_DENY", "203.0.113.0/24").split(",")
MODE = cast("Literal['enforce', 'shadow']", os.environ.get("SHIELDWARE_MODE", "enforce"))


def build_shield() -> Shield:
    """The app-wide policy: a deny list, then a generous limit per client address."""
    return Shield(
        [
            IPList(deny=DENY),
            TokenBucket(os.environ.get("FLASK_DEMO_IP_RATE", "120/minute"), key=by_ip, name="ip"),
        ],
        mode=MODE,
    )


def current_user() -> str | None:
    """The principal: whoever logged in through the session (your flask-login user id)."""
    user = session.get("user")
    return str(user) if user else None


def create_app(mode: str = "extension") -> Flask:
    app = Flask(__name__)
    app.secret_key = os.environ.get("FLASK_SECRET_KEY", "dev-only-change-me")
    shield = build_shield()
    if mode == "wsgi":
        app.wsgi_app = ShieldWSGIMiddleware(app.wsgi_app, shield=shield)  # type: ignore[method-assign]
        # No app-wide shield in the extension: it only serves the per-view limits below, and they
        # borrow nothing (each gets a small shield of its own, in memory).
        shieldware = Shieldware(app, principal=current_user)
    else:
        shieldware = Shieldware(app, shield=shield, principal=current_user)

    login_rate = os.environ.get("FLASK_DEMO_LOGIN_RATE", "5/minute")
    api_rate = os.environ.get("FLASK_DEMO_USER_RATE", "30/minute")

    @app.get("/")
    def home() -> Response:
        decision = decision_of() or request.environ.get("shieldware.decision")
        return jsonify(
            hello="world", user=current_user(), action=decision.action.value if decision else None
        )

    @app.post("/login")
    @shieldware.protect(TokenBucket(login_rate, key=by_ip, match=method("POST"), name="login"))
    def login() -> Response:
        user = request.form.get("user") or (request.get_json(silent=True) or {}).get("user")
        if not user:
            return Response("user is required\n", status=422, mimetype="text/plain")
        session["user"] = str(user)
        return jsonify(ok=True, user=user)

    @app.get("/api/items/<int:pk>")
    @shieldware.protect(TokenBucket(api_rate, key=by_principal, name="per-user"))
    def item(pk: int) -> Response:
        if current_user() is None:
            return Response("log in first\n", status=401, mimetype="text/plain")
        return jsonify(item=pk, user=current_user())

    return app


app = create_app(os.environ.get("FLASK_DEMO_MODE", "extension"))
