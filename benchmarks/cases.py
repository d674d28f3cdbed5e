"""The benchmark cases: shapes typical of real networks and signal processing.

The table lives in the package (`jconv._bench`, which ``jconv bench`` runs too); this
module re-exports it for the scripts here. Each case is a convolution layer, a
transposed convolution, or a signal convolution, given once; `benchmarks/run.py` builds
the jconv, jax.lax, PyTorch and SciPy versions of it. ``flops`` counts the useful
multiply-adds of the forward pass (no products with inserted zeros), times two.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jconv._bench import BY_NAME as BY_NAME  # noqa: E402
from jconv._bench import CASES as CASES  # noqa: E402
from jconv._bench import Case as Case  # noqa: E402
