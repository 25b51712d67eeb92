"""shieldware's benchmarks: side by side with a bare app and the peers, in one run.

``python -m benchmarks`` runs them all and writes docs/benchmarks.md; see benchmarks/run.py.
The checkout's own ``src/`` goes first on the path, so the code measured is the code beside this
folder even when another copy of shieldware is installed.
"""

import sys
from pathlib import Path

_SRC = str(Path(__file__).resolve().parent.parent / "src")
if Path(_SRC).is_dir() and sys.path[:1] != [_SRC]:
    sys.path.insert(0, _SRC)
