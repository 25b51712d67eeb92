"""Settings of the Django test project (tests/contrib/test_django.py and the real servers)."""

SECRET_KEY = "tests-only-not-secret-0123456789abcdef0123456789"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "sw_django.urls"
INSTALLED_APPS = ["shieldware.contrib.django.ShieldwareConfig"]
MIDDLEWARE = [
    "sw_django.auth.FakeAuthenticationMiddleware",
    "shieldware.contrib.django.ShieldwareMiddleware",
]
SHIELDWARE_SHIELD = "sw_django.security.shield"
DATABASES: dict[str, object] = {}
USE_TZ = True
