"""A security module whose shield cannot be built: proof of work and no secret anywhere
(the test unsets SHIELDWARE_SECRET)."""

from shieldware import Shield
from shieldware.layers import ProofOfWork

shield = Shield([ProofOfWork()])
