r"""jconv.symbolic: the reference semantics of every convolution, in SymPy, and proofs.

Importing ``jconv`` does not import SymPy; this package is loaded on demand
(``import jconv.symbolic``).

* **Reference semantics** from the defining sums, sharing no code with the numeric
  algorithms: `symbols`, `conv`, `conv_transpose`, `convolve`, `correlate`.
* **Matrices**: `conv_matrix` (``vec(conv(x, w)) = M vec(x)``, ``vec`` the C-order
  flattening), `kernel_matrix` (``= A vec(w)``), `circulant`, `dft_matrix`; block views
  (`conv_block_matrix`, `group_block_matrix`) and pictures of them (`render_pattern`,
  `plot_pattern`).
* **The operator probe**: `check_operator` recovers a numeric operator (default:
  jconv's, any algorithm; its docstring lists the operators) completely by one-hot
  probing and compares it entry by entry with its symbolic matrix.
* **Laws**: the ``prove_*`` functions prove a law for all sizes; `laws` holds each law's
  family, with the checks that verify it exactly at given sizes (and the proofs of the
  output-size rules).
* **Winograd**: `winograd` proves the transforms the numeric algorithm runs.

Every check returns a `CheckResult` (statement, holds, scope, details, elapsed).

Example:
    >>> import sympy
    >>> from jconv.symbolic import conv_matrix
    >>> a, b, c, d, e, f, g, h = sympy.symbols("a:h")
    >>> list(conv_matrix([[[[a, b], [c, d]]], [[[e, f], [g, h]]]], (1, 3, 3)).row(0))
    [a, b, 0, c, d, 0, 0, 0, 0]
"""

from . import laws, winograd
from ._matrix import (
    circulant,
    conv_block_matrix,
    conv_matrix,
    dft_matrix,
    group_block_matrix,
    kernel_matrix,
    plot_pattern,
    render_pattern,
)
from ._probe import check_operator
from ._reference import conv, conv_transpose, convolve, correlate, symbols
from ._result import CheckResult
from .laws import (
    prove_adjoint,
    prove_associativity,
    prove_commutativity,
    prove_convolution_theorem,
    prove_flip_identity,
    prove_linearity,
    prove_parameter_count,
    prove_translation_equivariance,
)

__all__ = [
    # reference semantics
    "symbols", "conv", "conv_transpose", "convolve", "correlate",
    # matrices
    "conv_matrix", "kernel_matrix", "circulant", "dft_matrix", "conv_block_matrix",
    "group_block_matrix", "render_pattern", "plot_pattern",
    # the operator probe
    "check_operator",
    # laws
    "laws", "prove_adjoint", "prove_associativity", "prove_commutativity",
    "prove_convolution_theorem", "prove_flip_identity", "prove_linearity",
    "prove_parameter_count", "prove_translation_equivariance",
    # Winograd, results
    "winograd", "CheckResult",
]
