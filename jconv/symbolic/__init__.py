r"""jconv.symbolic: the reference semantics of every convolution, in SymPy, and checks.

Importing ``jconv`` does not import SymPy; this package is loaded on demand
(``import jconv.symbolic`` or ``jconv.symbolic`` after ``import jconv``).

* **Reference semantics** from the defining sums, sharing no code with the numeric
  algorithms: `symbols`, `conv`, `conv_transpose`, `convolve`, `correlate`.
* **Matrix forms**: `conv_matrix` (``vec(conv(x, w)) = M vec(x)``), `kernel_matrix`
  (``= A vec(w)``), `conv_transpose_matrix`, `convolve_matrix`, `circulant`,
  `shift_matrix`, `dft_matrix`; the block structure (`conv_block_matrix`,
  `group_block_matrix`, `block_explicit`) and pictures of it (`render_pattern`,
  `plot_pattern`).
* **Checks** returning a `CheckResult` (statement, holds, scope, details, elapsed):
  ``prove_*`` for all sizes with symbolic sizes, ``check_*`` exactly at given sizes,
  and checks of a numeric function (default: jconv's, any algorithm) that recover its
  whole bilinear operator by one-hot probing (`check_bilinear_operator`, `check_conv`,
  `check_vjp`, ...). Pass ``numeric=`` to check another function.

Example:
    >>> import sympy
    >>> from jconv.symbolic import conv_matrix
    >>> a, b, c, d, e, f, g, h = sympy.symbols("a:h")
    >>> list(conv_matrix([[[[a, b], [c, d]]], [[[e, f], [g, h]]]], (1, 3, 3)).row(0))
    [a, b, 0, c, d, 0, 0, 0, 0]
"""

from ._adjoint import check_adjoint, prove_adjoint
from ._algebra import (
    check_associativity,
    check_associativity_numeric,
    check_commutativity,
    check_commutativity_numeric,
    check_correlation_not_commutative,
    check_flip_identity,
    check_layer_composition,
    check_linearity,
    composed_kernel,
    normalize_sums,
    numeric_law,
    prove_associativity,
    prove_commutativity,
    prove_flip_identity,
    prove_linearity,
)
from ._arrays import symbols
from ._exact import Cyclotomic, arrays_equal, first_difference
from ._fourier import (
    check_circulant_diagonalization,
    check_convolution_theorem,
    check_convolution_theorem_numeric,
    check_linear_via_circular,
    prove_convolution_theorem,
)
from ._layers import (
    WORKED_EXAMPLE,
    check_equivariance_numeric,
    check_fc_constraints,
    check_fc_numeric,
    check_full_kernel_fc,
    check_groups,
    check_groups_numeric,
    check_matrix_forms,
    check_pointwise,
    check_scalar_conv,
    check_translation_equivariance,
    check_worked_example,
    prove_parameter_count,
    prove_translation_equivariance,
)
from ._matrix import (
    block_explicit,
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
    shift_matrix,
    vec,
)
from ._numeric import (
    check_conv,
    check_conv_transpose,
    check_convolve,
    check_correlate,
    check_input_grad,
    check_kernel_grad,
    check_transpose_adjoint,
    check_vjp,
    conv_matrix_form,
    conv_output_shape,
    matching_transpose_kwargs,
)
from ._probe import ROUNDING, BilinearForm, check_bilinear_operator, is_refusal
from ._reference import conv, conv_transpose, convolve, correlate
from ._result import ALL_SIZES, CheckResult, combine, verified_for
from ._shapes import (
    SHAPE_CASES,
    check_output_sizes,
    check_shapes_numeric,
    prove_output_size,
    prove_same_padding,
    prove_transpose_size,
)

__all__ = [
    "ALL_SIZES", "ROUNDING", "SHAPE_CASES", "WORKED_EXAMPLE",
    "BilinearForm", "CheckResult", "Cyclotomic",
    "arrays_equal", "block_explicit", "check_adjoint", "check_associativity",
    "check_associativity_numeric", "check_bilinear_operator", "check_circulant_diagonalization",
    "check_commutativity", "check_commutativity_numeric", "check_conv", "check_conv_transpose",
    "check_convolution_theorem", "check_convolution_theorem_numeric", "check_convolve",
    "check_correlate", "check_correlation_not_commutative", "check_equivariance_numeric",
    "check_fc_constraints", "check_fc_numeric", "check_flip_identity", "check_full_kernel_fc",
    "check_groups", "check_groups_numeric", "check_input_grad", "check_kernel_grad",
    "check_layer_composition", "check_linear_via_circular", "check_linearity",
    "check_matrix_forms", "check_output_sizes", "check_pointwise", "check_scalar_conv",
    "check_shapes_numeric", "check_transpose_adjoint", "check_translation_equivariance",
    "check_vjp", "check_worked_example", "circulant", "combine", "composed_kernel", "conv",
    "conv_block_matrix", "conv_matrix", "conv_matrix_form", "conv_output_shape", "conv_transpose",
    "conv_transpose_matrix", "convolve", "convolve_matrix", "correlate", "dft_matrix",
    "first_difference", "group_block_matrix", "is_refusal", "kernel_matrix",
    "matching_transpose_kwargs", "normalize_sums", "numeric_law", "plot_pattern",
    "prove_adjoint", "prove_associativity", "prove_commutativity", "prove_convolution_theorem",
    "prove_flip_identity", "prove_linearity", "prove_output_size", "prove_parameter_count",
    "prove_same_padding", "prove_translation_equivariance", "prove_transpose_size",
    "render_pattern", "shift_matrix", "symbols", "vec", "verified_for",
]
