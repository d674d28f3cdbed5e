"""The laws of convolution by family: ``prove_*`` with symbolic sizes, ``check_*`` exactly.

Each function returns a `CheckResult`. A ``prove_*`` function proves its statement for
all sizes (symbolic sizes and indices); the ``check_*`` functions of the same family
verify the statement, or the concrete form it takes, exactly at the sizes given. The
``prove_*`` functions, except the three of the output sizes, are also re-exported by
`jconv.symbolic`.

* linearity: `prove_linearity`; `check_linearity`.
* commutativity and the flip: `prove_commutativity`, `prove_flip_identity`;
  `check_commutativity`, `check_flip_identity`, `check_correlation_not_commutative`.
* associativity: `prove_associativity`; `check_associativity`, `check_layer_composition`.
* Fourier: `prove_convolution_theorem`; `check_convolution_theorem`,
  `check_circulant_diagonalization`, `check_linear_via_circular`.
* adjoint: `prove_adjoint`; `check_adjoint`.
* matrix form: `check_matrix_forms`, `check_worked_example`.
* groups and parameters: `prove_parameter_count`; `check_groups`.
* translation equivariance: `prove_translation_equivariance`;
  `check_translation_equivariance`.
* fully connected: `check_fc_constraints`, `check_pointwise`, `check_full_kernel_fc`,
  `check_scalar_conv`.
* shapes: `prove_output_size`, `prove_same_padding`, `prove_transpose_size`;
  `check_output_sizes`.

Example:
    >>> from jconv.symbolic import laws
    >>> laws.prove_commutativity().holds, laws.check_commutativity((4,), (2,)).holds
    (True, True)
"""

from ._laws import (
    check_adjoint,
    check_associativity,
    check_circulant_diagonalization,
    check_commutativity,
    check_convolution_theorem,
    check_correlation_not_commutative,
    check_fc_constraints,
    check_flip_identity,
    check_full_kernel_fc,
    check_groups,
    check_layer_composition,
    check_linear_via_circular,
    check_linearity,
    check_matrix_forms,
    check_output_sizes,
    check_pointwise,
    check_scalar_conv,
    check_translation_equivariance,
    check_worked_example,
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
    "check_adjoint", "check_associativity", "check_circulant_diagonalization",
    "check_commutativity", "check_convolution_theorem", "check_correlation_not_commutative",
    "check_fc_constraints", "check_flip_identity", "check_full_kernel_fc", "check_groups",
    "check_layer_composition", "check_linear_via_circular", "check_linearity",
    "check_matrix_forms", "check_output_sizes", "check_pointwise", "check_scalar_conv",
    "check_translation_equivariance", "check_worked_example", "prove_adjoint",
    "prove_associativity", "prove_commutativity", "prove_convolution_theorem",
    "prove_flip_identity", "prove_linearity", "prove_output_size", "prove_parameter_count",
    "prove_same_padding", "prove_translation_equivariance", "prove_transpose_size",
]
