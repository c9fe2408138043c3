"""Exponential moving average of trained weights: what gets evaluated, saved and installed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn as nn


class EMA:
    """Shadow copies of the trainable parameters of `modules` (keys: "<name>.<param>").

    The decay ramps up as (1 + n) / (10 + n) towards `decay`, so early averages are not
    dominated by the random initialisation."""

    def __init__(self, modules: dict[str, nn.Module], decay: float):
        self.decay, self.updates = decay, 0
        self.params = {
            f"{name}.{n}": p for name, m in modules.items() for n, p in m.named_parameters() if p.requires_grad
        }
        self.shadow = {k: p.detach().clone() for k, p in self.params.items()}

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        keys = list(self.params)
        torch._foreach_lerp_([self.shadow[k] for k in keys], [self.params[k].detach() for k in keys], 1.0 - d)

    @torch.no_grad()
    def copy_to_model(self) -> None:
        for k, p in self.params.items():
            p.copy_(self.shadow[k])

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Temporarily put the averaged weights into the model (evaluation, export)."""
        backup = {k: p.detach().clone() for k, p in self.params.items()}
        self.copy_to_model()
        try:
            yield
        finally:
            with torch.no_grad():
                for k, p in self.params.items():
                    p.copy_(backup[k])

    def state_dict(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "shadow": self.shadow}

    def load_state_dict(self, state: dict) -> None:
        self.updates = int(state["updates"])
        missing = set(self.shadow) ^ set(state["shadow"])
        if missing:
            raise ValueError(f"EMA state does not match the model: {sorted(missing)[:5]}")
        with torch.no_grad():
            for k, v in state["shadow"].items():
                self.shadow[k].copy_(v)
