"""shieldware's benchmarks: side by side with a bare app and the peers, in one run.

``python -m benchmarks`` runs them all and writes docs/benchmarks.md; see benchmarks/run.py.
"""
