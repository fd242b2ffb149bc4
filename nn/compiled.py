"""numba where it is installed: the `numba` extra's compiled loops, or None.

The optimizers' update rules (nn.update_rules), max-pooling's loops
(nn.pooling_loops) and col2im's adds (nn.conv_loops) run compiled by numba where it
is installed, and as whole-array NumPy passes otherwise or when `AUTOGRAD_NUMBA=0`,
with the same results. This is where the choice is made, read each time a feature
asks.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import TypeVar

import numpy as np

Loops = TypeVar("Loops")
COMPILED_DTYPES = (np.float32, np.float64)  # numba has no float16 arithmetic on the CPU


def compiled(build: Callable[[], Loops], otherwise: str) -> Loops | None:
    """build(), which compiles its loops with numba; None where numba is not installed
    or `AUTOGRAD_NUMBA=0`, and, with a warning that ends with `otherwise`, where numba
    is installed but does not import."""
    if os.environ.get("AUTOGRAD_NUMBA") == "0":
        return None
    try:
        return build()
    except ImportError as error:
        if not (isinstance(error, ModuleNotFoundError) and error.name == "numba"):
            warnings.warn(  # installed but broken, e.g. too old for this NumPy
                f"numba does not import ({error}); {otherwise}", stacklevel=4
            )
        return None


def compiled_for(dtype: np.dtype, build: Callable[[], Loops], otherwise: str) -> Loops | None:
    """compiled(build, otherwise) for float32 and float64 arrays; None for any other
    dtype, which NumPy's passes take."""
    if dtype not in COMPILED_DTYPES:
        return None
    return compiled(build, otherwise)
