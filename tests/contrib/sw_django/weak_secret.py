"""A security module whose shield cannot be built: the secret is too short."""

from shieldware.secret import resolve_secrets

resolve_secrets("too-short", purpose="test signing layer")
shield = None
