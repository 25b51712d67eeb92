"""A small Flask site protected two ways: as a plain WSGI app, and with the extension.

Run it:  flask --app examples/flask_app/flask_demo.py run

``create_app("extension")`` (the default) decides inside Flask, after routing: it knows the route
template and the logged-in user, and adds per-view limits. ``create_app("wsgi")`` wraps
``app.wsgi_app`` in `ShieldWSGIMiddleware`: it sees every request before Flask does and needs no
Flask knowledge at all. Both can be combined.
"""

from __future__ import annotations

import os

from flask import Flask, Response, g, jsonify, request, session

from shieldware import IPList, Shield, ShieldWSGIMiddleware
from shieldware.contrib.flask import Shieldware, decision_of

#: Documentation networks stand in for the addresses you would deny.
DENY = os.environ.get("FLASK_DEMO_DENY", "203.0.113.0/24").split(",")


def build_shield() -> Shield:
    """The app-wide policy: a deny list (layers from shieldware.layers go here too)."""
    return Shield([IPList(deny=DENY)], mode=os.environ.get("SHIELDWARE_MODE", "enforce"))  # type: ignore[arg-type]


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
        shieldware = Shieldware(app, principal=current_user)  # per-view limits only
    else:
        shieldware = Shieldware(app, shield=shield, principal=current_user)

    @app.get("/")
    def home() -> Response:
        decision = decision_of() or request.environ.get("shieldware.decision")
        return jsonify(
            hello="world", user=current_user(), action=decision.action.value if decision else None
        )

    @app.post("/login")
    @shieldware.protect(login_limit())
    def login() -> Response:
        user = request.form.get("user") or (request.get_json(silent=True) or {}).get("user")
        if not user:
            return Response("user is required\n", status=422, mimetype="text/plain")
        session["user"] = str(user)
        return jsonify(ok=True, user=user)

    @app.get("/items/<int:pk>")
    def item(pk: int) -> Response:
        return jsonify(item=pk, decision=g.get("shieldware") and g.shieldware.explain())

    return app


def login_limit() -> Shield:
    """Per-view protection for the login form (placeholder until rate-limit layers land)."""
    return Shield([IPList(deny=DENY, name="login-deny")])


app = create_app(os.environ.get("FLASK_DEMO_MODE", "extension"))
