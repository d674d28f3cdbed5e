r"""jconv.symbolic: the reference semantics of every convolution, in SymPy, and proofs.

Importing ``jconv`` does not import SymPy; this package is loaded on demand
(``import jconv.symbolic``).

* **Reference semantics** from the defining sums, sharing no code with the numeric
  algorithms: `symbols`, `conv`, `conv_transpose`, `convolve`, `correlate`, and
  `conv_output_shape`.
* **Matrices**: `vec`, `conv_matrix` (``vec(conv(x, w)) = M vec(x)``), `kernel_matrix`
  (``= A vec(w)``), `conv_transpose_matrix`, `convolve_matrix`, `circulant`,
  `dft_matrix`; block views (`conv_block_matrix`, `group_block_matrix`) and pictures
  of them (`render_pattern`, `plot_pattern`).
* **The operator probe**: `check_operator` recovers a numeric operator (default:
  jconv's, any algorithm; `OPERATORS` lists them) completely by one-hot probing and
  compares it entry by entry with its symbolic matrix.
* **Laws**: the ``prove_*`` functions prove a law for all sizes; `laws` holds each law's
  family, with the checks that verify it exactly at given sizes.
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
    conv_transpose_matrix,
    convolve_matrix,
    dft_matrix,
    group_block_matrix,
    kernel_matrix,
    plot_pattern,
    render_pattern,
    vec,
)
from ._probe import OPERATORS, check_operator
from ._reference import conv, conv_output_shape, conv_transpose, convolve, correlate, symbols
from ._result import CheckResult
from .laws import (
    prove_adjoint,
    prove_associativity,
    prove_commutativity,
    prove_convolution_theorem,
    prove_flip_identity,
    prove_linearity,
    prove_output_size,
    prove_parameter_count,
    prove_same_padding,
    prove_translation_equivariance,
    prove_transpose_size,
)

__all__ = [
    # reference semantics
    "symbols", "conv", "conv_transpose", "convolve", "correlate", "conv_output_shape",
    # matrices
    "vec", "conv_matrix", "kernel_matrix", "conv_transpose_matrix", "convolve_matrix",
    "circulant", "dft_matrix", "conv_block_matrix", "group_block_matrix", "render_pattern",
    "plot_pattern",
    # the operator probe
    "check_operator", "OPERATORS",
    # laws
    "laws", "prove_adjoint", "prove_associativity", "prove_commutativity",
    "prove_convolution_theorem", "prove_flip_identity", "prove_linearity", "prove_output_size",
    "prove_parameter_count", "prove_same_padding", "prove_translation_equivariance",
    "prove_transpose_size",
    # Winograd, results
    "winograd", "CheckResult",
]
