"""A security module whose shield cannot be built: proof of work with a too-short secret."""

from shieldware import Shield
from shieldware.layers import ProofOfWork

shield = Shield([ProofOfWork("too-short")])
