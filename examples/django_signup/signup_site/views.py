"""Sign-up, login and an account page; each protected view says how, right above it."""

from __future__ import annotations

import html
import os

from django import forms
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from shieldware.contrib.django import decision_of, protect
from shieldware.keys import by_ip, by_principal
from shieldware.layers import TokenBucket
from shieldware.match import method

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


def _page(title: str, body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(_PAGE.format(title=html.escape(title), body=body), status=status)


def _form(
    request: HttpRequest, form: forms.Form, title: str, action: str, button: str, status: int = 200
) -> HttpResponse:
    """The form page (templates/form.html: the form helper pays its proof of work)."""
    context = {"title": title, "form": form, "action": action, "button": button}
    return render(request, "form.html", context, status=status)


def home(request: HttpRequest) -> HttpResponse:
    return _page(
        "shieldware signup example",
        '<p><a href="/signup/">Sign up</a> or <a href="/login/">log in</a>.</p>',
    )


# Five sign-ups per hour per address, on top of the proof of work the app-wide shield asks for.
@protect(
    TokenBucket(
        os.environ.get("SIGNUP_RATE", "5/hour"), key=by_ip, match=method("POST"), name="signup"
    )
)
def signup(request: HttpRequest) -> HttpResponse:
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        return redirect("/account/")
    status = 400 if request.method == "POST" else 200
    return _form(request, form, "Sign up", "/signup/", "Create account", status)


# Ten login attempts per minute per address: credential stuffing pays by the attempt.
@protect(
    TokenBucket(
        os.environ.get("LOGIN_RATE", "10/minute"), key=by_ip, match=method("POST"), name="login"
    )
)
def login_view(request: HttpRequest) -> HttpResponse:
    form = AuthenticationForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.get_user())
        return redirect("/account/")
    return _form(request, form, "Log in", "/login/", "Log in")


# Per user: the principal is request.user.pk because the middleware runs after authentication.
@login_required  # type: ignore[untyped-decorator]
@protect(TokenBucket(os.environ.get("ACCOUNT_RATE", "60/minute"), key=by_principal, name="account"))
def account(request: HttpRequest) -> HttpResponse:
    decision = decision_of(request)
    return JsonResponse(
        {
            "user": request.user.get_username(),
            "decision": decision.action.value if decision else None,
            "explain": decision.explain() if decision else None,
        }
    )
