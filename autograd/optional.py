"""Optional dependencies: imported where they are used, named when they are missing.

    plt = optional_import("matplotlib.pyplot", extra="plot")

imports matplotlib only when a plot is drawn; without it installed, the call raises
MissingDependency: "matplotlib is not installed: pip install 'autograd-numpy[plot]'".
"""

from __future__ import annotations

import importlib
from types import ModuleType

DISTRIBUTION = "autograd-numpy"


class MissingDependency(ImportError):
    """A library that one feature needs is not installed; the message says what to install."""


def optional_import(name: str, extra: str | None = None) -> ModuleType:
    """Import the module `name`, or raise MissingDependency naming what to install:
    the extra of this project that brings it, or (`extra=None`, for a dependency of
    the base install) the library itself."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if not (error.name and (name + ".").startswith(error.name + ".")):
            raise  # not `name` itself missing but something it imports: a broken install
        library = name.partition(".")[0]
        command = f"pip install '{DISTRIBUTION}[{extra}]'" if extra else f"pip install {library}"
        raise MissingDependency(f"{library} is not installed: {command}") from None
