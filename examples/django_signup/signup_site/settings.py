"""Settings of the signup example: a plain Django project plus two shieldware lines."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-example-only-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "shieldware.contrib.django.ShieldwareConfig",  # shieldware's system checks
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: decisions can key on the logged-in user (request.user.pk).
    "shieldware.contrib.django.ShieldwareMiddleware",
]

#: The one shieldware setting: the Shield, by dotted path.
SHIELDWARE_SHIELD = "signup_site.security.shield"

ROOT_URLCONF = "signup_site.urls"
WSGI_APPLICATION = "signup_site.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "signup_site" / "templates"],
        "OPTIONS": {
            # {% load shieldware %} {% shieldware_pow %}: the proof-of-work form helper
            "libraries": {"shieldware": "shieldware.contrib.django_tags"},
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SIGNUP_DB", str(BASE_DIR / "db.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/account/"
USE_TZ = True
