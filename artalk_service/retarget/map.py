"""A retarget map: each output name is a weighted sum of source channels,
then gain, offset and clamp. Compiled once into a matrix so applying it to a
batch of frames is one matmul.

Text format (JSON or YAML):

    {"name": "my_rig", "extends": "arkit61",          # optional preset to start from
     "targets": [{"name": "jaw_open", "sources": {"JawOpen": 1.0},
                  "gain": 1.0, "offset": 0.0, "clamp": [0.0, 1.0]}]}

A target of the same name as an inherited one replaces it.
"""
from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import yaml

from artalk_service.layout import MotionLayout


class RetargetError(ValueError):
    """An invalid map; the message names the offending part and what is accepted."""


@dataclass(frozen=True)
class Target:
    name: str
    sources: tuple[tuple[str, float], ...]  # (source channel, weight)
    gain: float = 1.0
    offset: float = 0.0
    clamp: tuple[float, float] | None = None


@dataclass(frozen=True)
class RetargetMap:
    name: str
    layout: MotionLayout
    targets: tuple[Target, ...]

    def __post_init__(self) -> None:
        n_src = self.layout.num_channels
        weights = np.zeros((n_src, len(self.targets)), dtype=np.float32)
        for j, target in enumerate(self.targets):
            for channel, weight in target.sources:
                weights[self.layout.index(channel), j] += weight * target.gain
        lo = [t.clamp[0] if t.clamp else -np.inf for t in self.targets]
        hi = [t.clamp[1] if t.clamp else np.inf for t in self.targets]
        object.__setattr__(self, "_weights", weights)
        object.__setattr__(self, "_offset", np.array([t.offset for t in self.targets], dtype=np.float32))
        object.__setattr__(self, "_lo", np.array(lo, dtype=np.float32))
        object.__setattr__(self, "_hi", np.array(hi, dtype=np.float32))

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.targets]

    def apply(self, frames: np.ndarray) -> np.ndarray:
        """(n, layout channels) native motion -> (n, targets) output values."""
        out = frames @ self._weights + self._offset
        return np.clip(out, self._lo, self._hi, out=out)


def parse_map(text_or_dict: str | dict, layout: MotionLayout,
              resolve_preset: Callable[[str], RetargetMap]) -> RetargetMap:
    """Parse and validate a whole map; raises RetargetError, never returns half a map."""
    spec = _load(text_or_dict) if isinstance(text_or_dict, str) else text_or_dict
    if not isinstance(spec, dict):
        raise RetargetError("a retarget map must be an object with a 'targets' list")
    unknown = set(spec) - {"name", "extends", "targets", "description"}
    if unknown:
        raise RetargetError(f"unknown key(s) {sorted(unknown)}; accepted: name, description, extends, targets")
    inherited: list[Target] = []
    if spec.get("extends") is not None:
        try:
            inherited = list(resolve_preset(str(spec["extends"])).targets)
        except KeyError as err:
            raise RetargetError(f"'extends': {err.args[0]}") from None
    raw_targets = spec.get("targets", [])
    if not isinstance(raw_targets, list):
        raise RetargetError("'targets' must be a list of {name, sources, gain, offset, clamp}")
    own = [_parse_target(raw, i, layout) for i, raw in enumerate(raw_targets)]
    seen: set[str] = set()
    for target in own:
        if target.name in seen:
            raise RetargetError(f"duplicate target {target.name!r}; each target name may appear once")
        seen.add(target.name)
    # An override keeps the inherited target's position, so channel order is stable.
    own_by_name = {t.name: t for t in own}
    inherited_names = {t.name for t in inherited}
    merged = [own_by_name.get(t.name, t) for t in inherited] + [t for t in own if t.name not in inherited_names]
    if not merged:
        raise RetargetError("the map has no targets")
    return RetargetMap(str(spec.get("name", "inline")), layout, tuple(merged))


def _load(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise RetargetError(f"retarget map is neither valid JSON nor YAML: {err}") from None


def _parse_target(raw: Any, index: int, layout: MotionLayout) -> Target:
    where = f"targets[{index}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise RetargetError(f"{where} must be an object with a non-empty string 'name'")
    where = f"target {raw['name']!r}"
    unknown = set(raw) - {"name", "sources", "gain", "offset", "clamp"}
    if unknown:
        raise RetargetError(f"{where}: unknown key(s) {sorted(unknown)}; accepted: name, sources, gain, offset, clamp")
    sources = raw.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise RetargetError(f"{where}: 'sources' must be a non-empty object of source channel -> weight")
    for channel, weight in sources.items():
        if channel not in layout.channels:
            near = difflib.get_close_matches(str(channel), layout.channels, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; valid channels are those of layout {layout.name}"
            raise RetargetError(f"{where}: unknown source channel {channel!r}{hint}")
        _finite(weight, f"{where}: weight of {channel!r}")
    gain = _finite(raw.get("gain", 1.0), f"{where}: gain")
    offset = _finite(raw.get("offset", 0.0), f"{where}: offset")
    clamp = raw.get("clamp")
    if clamp is not None:
        if not isinstance(clamp, (list, tuple)) or len(clamp) != 2:
            raise RetargetError(f"{where}: 'clamp' must be [min, max]")
        lo, hi = (_finite(v, f"{where}: clamp") for v in clamp)
        if lo > hi:
            raise RetargetError(f"{where}: clamp range [{lo}, {hi}] is inverted; min must be <= max")
        clamp = (lo, hi)
    return Target(raw["name"], tuple((str(c), float(w)) for c, w in sources.items()), gain, offset, clamp)


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RetargetError(f"{what} must be a finite number, got {value!r}")
    return float(value)
