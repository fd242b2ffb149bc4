"""Sequential: modules applied one after another."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from nn.module import Module


class Sequential(Module):
    """Applies its modules in order; they are named "0", "1", ... as in PyTorch.

    Indexing gives a module (or, for a slice, a Sequential of those modules);
    `len` and iteration work as for a list.
    """

    def __init__(self, *modules: Module):
        super().__init__()
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: item {i} is a {type(module).__name__}, not a Module")
            setattr(self, str(i), module)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: int | slice) -> Module:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
