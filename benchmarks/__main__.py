"""``python -m benchmarks``: run every benchmark side by side in one run."""

from benchmarks.run import main

raise SystemExit(main())
