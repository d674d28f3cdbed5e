"""Conversions between SymPy arrays, nested lists and NumPy object arrays."""

from __future__ import annotations

import functools
import itertools
import math
import operator

import numpy as np
import sympy


def symbols(name: str, shape, **assumptions) -> sympy.Array:
    r"""A SymPy array of distinct symbols, one per entry, named ``name_i_j...``.

    $$X = \big(x_{i_1 \dots i_r}\big)_{0 \le i_k < n_k}$$

    Equivalent to ``sympy.Array(sympy.symbols(...), shape)`` with systematic names.
    The symbols are real unless other assumptions are given (so ``conjugate`` leaves
    them unchanged, as for real data).

    Args:
        name: the prefix of every symbol's name.
        shape: a tuple of non-negative ints (``()`` gives a 0-d array of one symbol).
        **assumptions: SymPy assumptions; default ``real=True``.

    Returns:
        A ``sympy.ImmutableDenseNDimArray`` of the given shape.

    Raises:
        TypeError: ``name`` is not a string or ``shape`` not a sequence of ints.
        ValueError: a negative dimension.

    Example:
        >>> symbols("x", (2, 2))
        [[x_0_0, x_0_1], [x_1_0, x_1_1]]
    """
    if not isinstance(name, str):
        raise TypeError(f"jconv.symbolic.symbols: name must be a string, got {name!r}")
    shape = _shape_arg("jconv.symbolic.symbols", "shape", shape)
    assumptions = assumptions or {"real": True}
    flat = [
        sympy.Symbol("_".join((name, *map(str, idx))) if idx else name, **assumptions)
        for idx in itertools.product(*(range(n) for n in shape))
    ]
    return sympy.ImmutableDenseNDimArray(flat, shape)


def _shape_arg(fn: str, arg: str, shape) -> tuple[int, ...]:
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{fn}: {arg} must be a sequence of ints, got {shape!r}") from None
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
        raise TypeError(f"{fn}: {arg} must be a sequence of ints, got {shape!r}")
    if any(n < 0 for n in shape):
        raise ValueError(f"{fn}: {arg} must have non-negative entries, got {shape!r}")
    return tuple(int(n) for n in shape)


_sympify = np.frompyfunc(sympy.sympify, 1, 1)


def as_object_array(a, fn: str, name: str) -> np.ndarray:
    """A NumPy object array of SymPy expressions from a SymPy array, nested list or array."""
    if isinstance(a, sympy.NDimArray):
        shape = tuple(a.shape)
        arr = np.empty(shape, dtype=object)
        if not shape:
            arr[()] = a[()]
        elif math.prod(shape):
            arr[...] = np.array(a.tolist(), dtype=object).reshape(shape)
        return arr
    if isinstance(a, sympy.MatrixBase):
        return as_object_array(sympy.ImmutableDenseNDimArray(a.tolist()), fn, name)
    if isinstance(a, sympy.Basic):
        arr = np.empty((), dtype=object)
        arr[()] = a
        return arr
    try:
        arr = np.array(a, dtype=object)
    except ValueError as e:
        raise ValueError(f"{fn}: {name} is not a regular (rectangular) array: {e}") from None
    if arr.dtype != object:
        raise TypeError(f"{fn}: {name} must be array-like, got {type(a).__name__}")
    if any(isinstance(e, (list, tuple, np.ndarray)) for e in arr.flat):
        raise ValueError(f"{fn}: {name} is not a regular (rectangular) array")
    if arr.size:
        arr = _sympify(arr).astype(object)
    return arr


def to_sympy_array(arr: np.ndarray) -> sympy.Array:
    """A ``sympy.ImmutableDenseNDimArray`` from a NumPy object array."""
    if arr.ndim == 0:
        return sympy.ImmutableDenseNDimArray([arr[()]], ())
    return sympy.ImmutableDenseNDimArray(list(arr.reshape(-1)), arr.shape)


def add(terms) -> sympy.Expr:
    """The sum of a list of SymPy terms (``0`` for none), built in one ``Add``."""
    if not terms:
        return sympy.S.Zero
    if all(isinstance(t, sympy.Basic) for t in terms):
        return sympy.Add(*terms)
    return functools.reduce(operator.add, terms)


def ravel_index(index, shape) -> int:
    """C-order flat position of ``index`` in an array of ``shape``."""
    flat = 0
    for i, n in zip(index, shape):
        flat = flat * n + i
    return flat
