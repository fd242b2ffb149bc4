"""Training diagnostics: what each layer's gradients, updates and activations look like.

On every `every`-th batch of an epoch (batches 0, every, 2·every, ...),
`Diagnostics.watch` records, for any `nn.Module`:

- per layer (a module holding parameters of its own, named as in
  `model.named_modules()`, e.g. "0" and "2" for the MLP):
  `grad_norm`, the norm of its parameters' gradients (all of them as one vector),
  and `update_ratio`, ‖Δw‖ / ‖w‖ of the optimizer's step (Δw the change of all
  its parameters): practitioners watch it stay near 1e-3; far above, training is
  unstable; far below, the layer barely learns;
- per `nn.ReLU` module: `dead_fraction`, the fraction of its units (every entry
  of its output but the batch axis) that were 0 for every example of every
  sampled batch, and `activation_mean` and `activation_std` of its outputs.

`epoch_summary()` gives each number for the epoch (gradient norms and ratios
averaged over the sampled batches) and starts the next epoch afresh. The
diagnostics only read the model, so a run trains exactly as without them;
sampling keeps their cost within a few percent of the run time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

import nn

METRICS = ("grad_norm", "update_ratio", "dead_fraction", "activation_mean", "activation_std")


class Diagnostics:
    """Per-layer statistics of the sampled training steps of one epoch."""

    def __init__(self, model: nn.Module, every: int):
        self.every = every
        modules = [(name or "model", module) for name, module in model.named_modules()]
        self.layers = {  # a module's own parameters are those without a "." in their name
            name: own
            for name, module in modules
            if (own := [p for p_name, p in module.named_parameters() if "." not in p_name])
        }
        self.relus = {name: module for name, module in modules if isinstance(module, nn.ReLU)}
        self._start_epoch()

    def _start_epoch(self) -> None:
        self.sums: dict[str, Any] = {
            "steps": 0,
            "layers": {name: {"grad_norm": 0.0, "update_ratio": 0.0} for name in self.layers},
            "relus": {
                name: {"alive": np.zeros(0, bool), "sum": 0.0, "sum_sq": 0.0, "count": 0}
                for name in self.relus
            },
        }

    def watch(self, step: int) -> contextlib.AbstractContextManager:
        """Wrap training step `step` of the epoch (forward, backward, optimizer step):
        recorded if it is a multiple of `every`, else left alone (every=0: never)."""
        if self.every == 0 or step % self.every:
            return contextlib.nullcontext()
        return self._recording()

    @contextlib.contextmanager
    def _recording(self) -> Iterator[None]:
        before = {name: [p.data.copy() for p in params] for name, params in self.layers.items()}
        hooks = [m.register_forward_hook(self._activation_hook(n)) for n, m in self.relus.items()]
        try:
            yield
        finally:
            for hook in hooks:
                hook.remove()
        for name, params in self.layers.items():
            weights = before[name]
            weights_norm = max(_norm(weights), np.finfo(float).tiny)
            for p, old in zip(params, weights):
                np.subtract(p.data, old, out=old)  # the copy becomes the update Δw
            sums = self.sums["layers"][name]
            sums["grad_norm"] += _norm([p.grad.data for p in params if p.grad is not None])
            sums["update_ratio"] += _norm(weights) / weights_norm
        self.sums["steps"] += 1

    def _activation_hook(self, name: str):
        def record(module: nn.Module, inputs: tuple, output: Any) -> None:
            a = output.data
            sums = self.sums["relus"][name]
            positive = (a > 0).any(axis=0)
            sums["alive"] = positive if sums["alive"].size == 0 else sums["alive"] | positive
            sums["sum"] += float(a.sum(dtype=np.float64))
            sums["sum_sq"] += float(np.square(a, dtype=np.float64).sum())
            sums["count"] += a.size

        return record

    def epoch_summary(self) -> dict[str, Any] | None:
        """The epoch's numbers, {"sampled_steps": n, metric: {module name: value}}; then
        a new epoch begins. None when nothing was sampled."""
        steps = self.sums["steps"]
        if steps == 0:
            return None
        summary: dict[str, Any] = {"sampled_steps": steps} | {metric: {} for metric in METRICS}
        for name, sums in self.sums["layers"].items():
            summary["grad_norm"][name] = sums["grad_norm"] / steps
            summary["update_ratio"][name] = sums["update_ratio"] / steps
        for name, sums in self.sums["relus"].items():
            if sums["count"] == 0:  # a ReLU the forward pass did not run
                continue
            mean = sums["sum"] / sums["count"]
            variance = max(sums["sum_sq"] / sums["count"] - mean**2, 0.0)  # E[a²] - E[a]²
            summary["dead_fraction"][name] = 1.0 - float(sums["alive"].mean())
            summary["activation_mean"][name] = mean
            summary["activation_std"][name] = variance**0.5
        self._start_epoch()
        return summary

    def state_dict(self) -> dict[str, Any]:
        """The sums of the epoch in progress, for a checkpoint taken part-way through it."""
        return self.sums

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the epoch whose sums `state_dict` gave (as nn.load returns them)."""
        self._start_epoch()
        self.sums["steps"] = int(state["steps"])
        for group in ("layers", "relus"):
            for name, sums in self.sums[group].items():
                for key, value in state[group].get(name, {}).items():
                    kind = type(sums[key])
                    sums[key] = np.asarray(value, bool) if kind is np.ndarray else kind(value)


def _norm(arrays: list[np.ndarray]) -> float:
    """The Euclidean norm of all the arrays' elements together."""
    return float(np.sqrt(sum(np.dot(a.ravel(), a.ravel()) for a in arrays)))


def from_checkpoint(tree: dict[str, Any]) -> dict[str, Any]:
    """An epoch summary back from the 0-d arrays nn.load gives."""
    return {
        key: int(value) if key == "sampled_steps" else {n: float(v) for n, v in value.items()}
        for key, value in tree.items()
    }
