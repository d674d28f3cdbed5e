"""jconv: N-d convolution for JAX, with its own VJPs, several algorithms, and proofs.

The functional API; `jconv.lax` holds drop-in replacements for `jax.lax`'s convolutions,
and `jconv.symbolic` (SymPy) is imported on demand.
"""

from . import lax as lax
from ._conv import conv as conv
from ._conv import conv_input_grad as conv_input_grad
from ._conv import conv_kernel_grad as conv_kernel_grad
from ._conv import conv_transpose as conv_transpose
from ._conv import convolve as convolve
from ._conv import correlate as correlate
from ._conv import explain as explain
from ._select import AlgorithmRefused as AlgorithmRefused
from ._select import algorithms as algorithms
from ._select import set_workspace_limit as set_workspace_limit

__version__ = "0.1.0"


def __getattr__(name):
    """Import `jconv.symbolic` (which needs SymPy) on first access, not with jconv."""
    if name == "symbolic":
        import importlib

        return importlib.import_module(".symbolic", __name__)
    raise AttributeError(f"module 'jconv' has no attribute {name!r}")

__all__ = [
    "AlgorithmRefused",
    "algorithms",
    "conv",
    "conv_input_grad",
    "conv_kernel_grad",
    "conv_transpose",
    "convolve",
    "correlate",
    "explain",
    "set_workspace_limit",
]
