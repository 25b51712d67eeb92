"""A small Flask site protected two ways: as a plain WSGI app, and with the extension.

Run it:  flask --app examples/flask_app/flask_demo.py run

``create_app("extension")`` (the default) decides inside Flask, after routing: it knows the route
template and the logged-in user. ``create_app("wsgi")`` wraps ``app.wsgi_app`` in
`ShieldWSGIMiddleware`: it sees every request before Flask does and needs no Flask knowledge. In
both, the login form and the per-user API have their own per-view limits, and each sign-up pays a
proof of work of its own: the sign-up page's form helper (``{{ shieldware_pow() }}``, a Jinja2
global) solves it while the person types.
"""

from __future__ import annotations

import os
from typing import Literal, cast

from flask import Flask, Response, jsonify, render_template_string, request, session

from shieldware import IPList, Shield, ShieldWSGIMiddleware
from shieldware.contrib import jinja
from shieldware.contrib.flask import Shieldware, decision_of
from shieldware.keys import by_ip, by_principal
from shieldware.layers import ProofOfWork, TokenBucket
from shieldware.match import method, path
from shieldware.secret import ENV_VAR, generate_secret

#: Documentation networks stand in for the addresses you would deny.
DENY = os.environ.get("FLASK_DEMO_DENY", "203.0.113.0/24").split(",")
MODE = cast("Literal['enforce', 'shadow']", os.environ.get("SHIELDWARE_MODE", "enforce"))


SIGNUP_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Sign up</title></head><body><main><h1>Sign up</h1>
{% if created %}<p id="created">Welcome, {{ created }}!</p>{% endif %}
<form method="post" action="/signup">
<label>Name <input name="user" required></label>
<label>Email <input name="email" type="email" required></label>
{{ shieldware_pow() }}
<button type="submit">Create account</button>
</form></main></body></html>"""


def build_shield() -> Shield:
    """The app-wide policy: a deny list, a generous limit per client address, and one proof of
    work per sign-up post (the page's form helper pays it while the person types)."""
    secret = os.environ.get(ENV_VAR) or generate_secret()  # set it to keep proofs across restarts
    return Shield(
        [
            IPList(deny=DENY),
            TokenBucket(os.environ.get("FLASK_DEMO_IP_RATE", "120/minute"), key=by_ip, name="ip"),
            ProofOfWork(
                secret,
                actions=path("/signup"),
                count=int(os.environ.get("FLASK_DEMO_POW_COUNT", "4")),
                bits=int(os.environ.get("FLASK_DEMO_POW_BITS", "17")),
            ),
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
    jinja.install(app.jinja_env)  # {{ shieldware_pow() }} in every template
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

    accounts: list[str] = []

    @app.route("/signup", methods=["GET", "POST"])
    def signup() -> str:
        created = None
        if request.method == "POST":  # reached only with a fresh proof of work
            created = request.form.get("user") or "someone"
            accounts.append(created)
        return render_template_string(SIGNUP_PAGE, created=created)

    @app.get("/api/items/<int:pk>")
    @shieldware.protect(TokenBucket(api_rate, key=by_principal, name="per-user"))
    def item(pk: int) -> Response:
        if current_user() is None:
            return Response("log in first\n", status=401, mimetype="text/plain")
        return jsonify(item=pk, user=current_user())

    return app


app = create_app(os.environ.get("FLASK_DEMO_MODE", "extension"))
