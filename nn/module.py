"""Module: the base class of layers and models, which finds its parameters by itself."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from nn.parameter import Parameter


class Module:
    """A piece of a model: holds parameters and submodules, and maps inputs to outputs.

    Assigning a `Parameter` or a `Module` to an attribute registers it, so
    `named_parameters()` finds it under a dotted name such as `body.0.weight`.
    Subclasses call `super().__init__()` first and define `forward`; calling
    the module runs `forward`.
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_forward_hooks", {})
        object.__setattr__(self, "training", True)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        output = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                replaced = hook(self, args, output)
                output = output if replaced is None else replaced
        return output

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]) -> HookHandle:
        """Call `hook(module, inputs, output)` after every forward, as PyTorch does: a hook
        that returns something other than None replaces the output with it. Returns a
        handle whose `remove()` unregisters the hook."""
        handle = HookHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ----- registration -----
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} to {type(self).__name__} before Module.__init__(): "
                "call super().__init__() first"
            )
        parameters, modules = self._parameters, self._modules
        if isinstance(value, Parameter):
            modules.pop(name, None)
            parameters[name] = value
        elif isinstance(value, Module):
            parameters.pop(name, None)
            modules[name] = value
        elif value is None:
            parameters.pop(name, None)
            modules.pop(name, None)
        elif name in parameters or name in modules:
            kind = "parameter" if name in parameters else "submodule"
            expected = "an nn.Parameter" if name in parameters else "an nn.Module"
            raise TypeError(
                f"cannot assign a {type(value).__name__} to {kind} {name!r}: "
                f"expected {expected} or None"
            )
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    # ----- what the module holds -----
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct submodules with their attribute names, in registration order."""
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (named `prefix`) and every submodule under its dotted name, such as
        `body.0`, parents before children; a module reached twice appears once."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module.named_children()]
            stack.extend(reversed(children))

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every parameter of this module and its submodules under its dotted name.

        A parameter shared by several submodules appears once, under its first name.
        """
        seen: set[int] = set()
        for name, p in self._all_named_parameters(prefix):
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def _all_named_parameters(self, prefix: str) -> Iterator[tuple[str, Parameter]]:
        """Every (name, parameter) pair, a shared parameter under each of its names."""
        for name, p in self._parameters.items():
            yield prefix + name, p
        for name, child in self._modules.items():
            yield from child._all_named_parameters(prefix + name + ".")

    # ----- training -----
    def zero_grad(self) -> None:
        """Forget the gradients of every parameter (`.grad = None`)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        """Set the `training` flag of this module and all its submodules; returns self."""
        object.__setattr__(self, "training", mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """`train(False)`."""
        return self.train(False)

    # ----- state -----
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """A copy of every parameter's values, by dotted name (PyTorch's names)."""
        return OrderedDict((name, p.data.copy()) for name, p in self._all_named_parameters(""))

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy the values of `state` into the parameters, in place.

        Every name must be present with the right shape, and no other name; if
        not, a ValueError lists all the missing, unexpected and misshapen names,
        and no parameter is changed. Values (NumPy arrays, Tensors, or anything
        `np.asarray` takes, such as CPU torch tensors) are cast to each
        parameter's dtype; the parameter arrays stay the same objects, so an
        optimizer holding them keeps working.
        """
        own = dict(self._all_named_parameters(""))
        values = {name: np.asarray(value) for name, value in state.items()}
        missing = [name for name in own if name not in values]
        unexpected = [name for name in values if name not in own]
        misshapen = [
            f"{name} (expected {own[name].shape}, got {values[name].shape})"
            for name in own
            if name in values and values[name].shape != own[name].shape
        ]
        uncastable = [
            f"{name} (cannot cast {values[name].dtype} to {own[name].dtype})"
            for name in own
            if name in values
            and not np.can_cast(values[name].dtype, own[name].dtype, casting="same_kind")
        ]
        problems = [
            f"  {label}: {', '.join(names)}"
            for label, names in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("wrong shape", misshapen),
                ("wrong dtype", uncastable),
            )
            if names
        ]
        if problems:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the state does not fit the model\n"
                + "\n".join(problems)
            )
        for name, p in own.items():
            np.copyto(p.data, values[name], casting="same_kind")
            p.bump_version()

    # ----- display -----
    def extra_repr(self) -> str:
        """The module's settings, shown between the parentheses of its repr."""
        return ""

    def __repr__(self) -> str:
        children = [
            f"  ({name}): " + repr(child).replace("\n", "\n  ")
            for name, child in self.named_children()
        ]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        extra = self.extra_repr()
        lines = ([f"  {extra}"] if extra else []) + children
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


class HookHandle:
    """What `register_forward_hook` returns: `remove()` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks: dict[int, Callable]):
        self.hooks, self.id = hooks, next(self._ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)
