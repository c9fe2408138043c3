"""A retarget map's JSON/YAML text -> a validated RetargetMap, or one RetargetError.

    {"name": "my_rig", "layout": "arkit61", "extends": "arkit_camel",
     "remove": ["tongueOut"], "swap_sides": false,
     "targets": [{"name": "jaw_open", "sources": {"JawOpen": 1.0}, "gain": 1.0, "offset": 0.0,
                  "clamp": [0, 1], "curve": {"type": "power", "exponent": 1.5},
                  "smoothing": 0.03, "mirror": "..."}],
     "bones": [{"bone": "head", "from": ["HeadYaw", "HeadPitch", "HeadRoll"],
                "convention": "unity", "output": "quaternion"}]}

`extends` starts from a preset: a target (or bone) of the same name as an
inherited one overrides only the keys it gives and keeps its position; `remove`
drops inherited ones. `mirror` adds a twin target of that name fed by the other
side of the face; `swap_sides` mirrors every target. The published JSON Schema
is schema.json beside this file; docs/retarget.md explains every key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from artalk_service.layout import MotionLayout
from artalk_service.retarget.bones import CONVENTIONS, OUTPUTS, Bone
from artalk_service.retarget.curves import parse_curve
from artalk_service.retarget.errors import RetargetError, check_channel, finite
from artalk_service.retarget.map import RetargetMap, Target
from artalk_service.retarget.mirror import mirror_sources

MAP_KEYS = ("$schema", "name", "description", "layout", "extends", "remove", "swap_sides", "targets", "bones")
TARGET_KEYS = ("name", "sources", "gain", "offset", "clamp", "curve", "smoothing", "mirror")
BONE_KEYS = ("bone", "from", "convention", "output", "gain", "smoothing")


def parse_map(
    text_or_dict: str | dict, layout: MotionLayout, resolve_preset: Callable[[str], RetargetMap]
) -> RetargetMap:
    """Parse and validate a whole map; raises RetargetError, never returns half a map.

    resolve_preset(name) returns the map `extends` names, or raises KeyError.
    """
    spec = load_text(text_or_dict) if isinstance(text_or_dict, str) else text_or_dict
    if not isinstance(spec, dict):
        raise RetargetError("a retarget map must be an object with a 'targets' list")
    _check_keys(spec, MAP_KEYS, "the map")
    if spec.get("layout", layout.name) != layout.name:
        raise RetargetError(f"'layout' is {spec['layout']!r} but the model's layout is {layout.name!r}")
    base = _base(spec.get("extends"), resolve_preset)
    removed = _removed(spec.get("remove", []), base)
    targets = _targets(_merge(base["targets"], _list(spec, "targets"), "name", removed), layout)
    if _flag(spec, "swap_sides"):
        targets = [replace(t, sources=mirror_sources(t.sources, layout)) for t in targets]
    bones = [
        _bone(raw, i, layout) for i, raw in enumerate(_merge(base["bones"], _list(spec, "bones"), "bone", removed))
    ]
    result = RetargetMap(
        _text(spec, "name", "inline"), layout, tuple(targets), tuple(bones), _text(spec, "description", "")
    )
    if not result.names:
        raise RetargetError("the map has no targets")
    _check_unique(result.names, "output channel")
    return result


def load_file(path: Path) -> Any:
    """A map file's content: .json files must be JSON (for exact errors), others YAML."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() != ".json":
        return load_text(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise RetargetError(f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None


def load_text(text: str) -> Any:
    """JSON, or else YAML (a superset for maps written by hand)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise RetargetError(f"retarget map is neither valid JSON nor YAML: {err}") from None


def _base(extends: Any, resolve_preset: Callable[[str], RetargetMap]) -> dict:
    if extends is None:
        return {"targets": [], "bones": []}
    try:
        spec = resolve_preset(str(extends)).to_spec()
    except KeyError as err:
        raise RetargetError(f"'extends': {err.args[0]}") from None
    return {"bones": [], **spec}


def _removed(remove: Any, base: dict) -> set[str]:
    if not isinstance(remove, list) or not all(isinstance(n, str) for n in remove):
        raise RetargetError("'remove' must be a list of inherited target or bone names")
    inherited = [t["name"] for t in base["targets"]] + [b["bone"] for b in base["bones"]]
    for name in remove:
        if name not in inherited:
            raise RetargetError(
                f"'remove': {name!r} is not an inherited target or bone"
                + ("" if inherited else "; 'remove' needs 'extends'")
            )
    return set(remove)


def _list(spec: dict, key: str) -> list:
    raw = spec.get(key, [])
    if not isinstance(raw, list):
        raise RetargetError(f"'{key}' must be a list of objects")
    return raw


def _merge(inherited: list[dict], own: list, key: str, removed: set[str]) -> list:
    """Own entries override inherited ones of the same name key by key, in the inherited place."""
    names = [raw.get(key) if isinstance(raw, dict) else None for raw in own]
    _check_unique([n for n in names if isinstance(n, str)], "target" if key == "name" else "bone")
    own_by_name = dict(zip(names, own))
    merged = [{**entry, **own_by_name.get(entry[key], {})} for entry in inherited if entry[key] not in removed]
    inherited_names = {entry[key] for entry in inherited}
    return merged + [raw for name, raw in zip(names, own) if name not in inherited_names]


def _targets(raws: list, layout: MotionLayout) -> list[Target]:
    targets = []
    for i, raw in enumerate(raws):
        target = _target(raw, i, layout)
        targets.append(target)
        twin = raw.get("mirror")
        if twin is not None:
            if not isinstance(twin, str) or not twin:
                raise RetargetError(f"target {target.name!r}: 'mirror' must be the twin target's name")
            targets.append(replace(target, name=twin, sources=mirror_sources(target.sources, layout)))
    return targets


def _target(raw: Any, index: int, layout: MotionLayout) -> Target:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise RetargetError(f"targets[{index}] must be an object with a non-empty string 'name'")
    where = f"target {raw['name']!r}"
    _check_keys(raw, TARGET_KEYS, where)
    sources = raw.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise RetargetError(f"{where}: 'sources' must be a non-empty object of source channel -> weight")
    weights = tuple(
        (check_channel(channel, layout.channels, layout.name, where), finite(weight, f"{where}: weight of {channel!r}"))
        for channel, weight in sources.items()
    )
    return Target(
        raw["name"],
        weights,
        gain=finite(raw.get("gain", 1.0), f"{where}: gain"),
        offset=finite(raw.get("offset", 0.0), f"{where}: offset"),
        clamp=_clamp(raw.get("clamp"), where),
        curve=parse_curve(raw.get("curve"), where),
        smoothing=_smoothing(raw.get("smoothing", 0.0), where),
    )


def _bone(raw: Any, index: int, layout: MotionLayout) -> Bone:
    if not isinstance(raw, dict) or not isinstance(raw.get("bone"), str) or not raw["bone"]:
        raise RetargetError(f"bones[{index}] must be an object with a non-empty string 'bone'")
    where = f"bone {raw['bone']!r}"
    _check_keys(raw, BONE_KEYS, where)
    sources = raw.get("from")
    if not isinstance(sources, list) or len(sources) != 3:
        raise RetargetError(
            f"{where}: 'from' must be [yaw, pitch, roll] rotation channels, e.g. ['HeadYaw', 'HeadPitch', 'HeadRoll']"
        )
    for channel in sources:
        check_channel(channel, layout.channels, layout.name, where)
        if channel not in layout.rotation_channels:
            raise RetargetError(
                f"{where}: {channel!r} is not a rotation channel; accepted: {', '.join(layout.rotation_channels)}"
            )
    convention = raw.get("convention", "unity")
    if convention not in CONVENTIONS:
        raise RetargetError(f"{where}: unknown convention {convention!r}; accepted: {', '.join(CONVENTIONS)}")
    output = raw.get("output", "quaternion")
    if output not in OUTPUTS:
        raise RetargetError(f"{where}: unknown output {output!r}; accepted: {', '.join(OUTPUTS)}")
    if output == "euler_degrees" and CONVENTIONS[convention].euler is None:
        raise RetargetError(f"{where}: {convention} rotations are quaternions only; use output 'quaternion'")
    return Bone(
        raw["bone"],
        tuple(sources),
        convention,
        output,
        gain=finite(raw.get("gain", 1.0), f"{where}: gain"),
        smoothing=_smoothing(raw.get("smoothing", 0.0), where),
    )


def _clamp(raw: Any, where: str) -> tuple[float, float] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) != 2:
        raise RetargetError(f"{where}: 'clamp' must be [min, max]")
    lo, hi = (finite(v, f"{where}: clamp") for v in raw)
    if lo > hi:
        raise RetargetError(f"{where}: clamp range [{lo}, {hi}] is inverted; min must be <= max")
    return lo, hi


def _smoothing(raw: Any, where: str) -> float:
    seconds = finite(raw, f"{where}: smoothing")
    if seconds < 0:
        raise RetargetError(f"{where}: smoothing {seconds} must be >= 0 seconds (0 = off)")
    return seconds


def _check_keys(raw: dict, accepted: tuple[str, ...], where: str) -> None:
    unknown = set(raw) - set(accepted)
    if unknown:
        raise RetargetError(f"{where}: unknown key(s) {sorted(unknown)}; accepted: {', '.join(accepted)}")


def _check_unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise RetargetError(f"duplicate {what} {name!r}; each name may appear once")
        seen.add(name)


def _text(spec: dict, key: str, default: str) -> str:
    value = spec.get(key, default)
    if not isinstance(value, str):
        raise RetargetError(f"'{key}' must be a string")
    return value


def _flag(spec: dict, key: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise RetargetError(f"'{key}' must be true or false")
    return value
