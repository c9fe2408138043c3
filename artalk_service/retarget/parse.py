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

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from artalk_service.layout import MotionLayout
from artalk_service.quoting import quote
from artalk_service.retarget.bones import CONVENTIONS, OUTPUTS, Bone
from artalk_service.retarget.curves import parse_curve
from artalk_service.retarget.errors import RetargetError, check_channel, finite
from artalk_service.retarget.limits import LIMITS, MapLimits
from artalk_service.retarget.loading import check_nesting, load_file, load_text
from artalk_service.retarget.map import RetargetMap, Target
from artalk_service.retarget.mirror import mirror_sources

MAP_KEYS = ("$schema", "name", "description", "layout", "extends", "remove", "swap_sides", "targets", "bones")
TARGET_KEYS = ("name", "sources", "gain", "offset", "clamp", "curve", "smoothing", "mirror")
BONE_KEYS = ("bone", "from", "convention", "output", "gain", "smoothing")

__all__ = ["parse_map", "load_file", "load_text", "MAP_KEYS", "TARGET_KEYS", "BONE_KEYS"]


def parse_map(
    text_or_dict: str | dict,
    layout: MotionLayout,
    resolve_preset: Callable[[str], RetargetMap],
    limits: MapLimits = LIMITS,
) -> RetargetMap:
    """Parse and validate a whole map within `limits`; raises RetargetError, never returns half a map.

    resolve_preset(name) returns the map `extends` names, or raises KeyError.
    """
    if isinstance(text_or_dict, str):
        spec = load_text(text_or_dict, limits)
    else:
        spec = text_or_dict
        check_nesting(spec, limits)
    if not isinstance(spec, dict):
        raise RetargetError("a retarget map must be an object with a 'targets' list")
    _check_keys(spec, MAP_KEYS, "the map")
    if spec.get("layout", layout.name) != layout.name:
        raise RetargetError(f"'layout' is {quote(spec['layout'])} but the model's layout is {layout.name!r}")
    base = _base(spec.get("extends"), resolve_preset, limits)
    removed = _removed(spec.get("remove", []), base)
    targets = _targets(_merge(base["targets"], _list(spec, "targets", limits), "name", removed), layout, limits)
    if _flag(spec, "swap_sides"):
        targets = [replace(t, sources=mirror_sources(t.sources, layout)) for t in targets]
    bones = [
        _bone(raw, i, layout, limits)
        for i, raw in enumerate(_merge(base["bones"], _list(spec, "bones", limits), "bone", removed))
    ]
    channels = len(targets) + sum(len(b.channel_names) for b in bones)
    if channels > limits.max_channels:
        raise RetargetError(
            f"the map has {channels:,} output channels (targets, mirror twins and bone channels); "
            f"the limit is {limits.max_channels:,}"
        )
    name = _name(_text(spec, "name", "inline"), "'name'", limits)
    result = RetargetMap(name, layout, tuple(targets), tuple(bones), _text(spec, "description", ""))
    if not result.names:
        raise RetargetError("the map has no targets")
    _check_unique(result.names, "output channel")
    return result


def _base(extends: Any, resolve_preset: Callable[[str], RetargetMap], limits: MapLimits) -> dict:
    if extends is None:
        return {"targets": [], "bones": []}
    if not isinstance(extends, str):
        raise RetargetError(f"'extends' must be a preset name, got {quote(extends)}")
    try:
        spec = resolve_preset(_name(extends, "'extends'", limits)).to_spec()
    except KeyError as err:
        raise RetargetError(f"'extends': {err.args[0]}") from None
    return {"bones": [], **spec}


def _removed(remove: Any, base: dict) -> set[str]:
    if not isinstance(remove, list) or not all(isinstance(n, str) for n in remove):
        raise RetargetError("'remove' must be a list of inherited target or bone names")
    inherited = {t["name"] for t in base["targets"]} | {b["bone"] for b in base["bones"]}
    for name in remove:
        if name not in inherited:
            raise RetargetError(
                f"'remove': {quote(name)} is not an inherited target or bone"
                + ("" if inherited else "; 'remove' needs 'extends'")
            )
    return set(remove)


def _list(spec: dict, key: str, limits: MapLimits) -> list:
    raw = spec.get(key, [])
    if not isinstance(raw, list):
        raise RetargetError(f"'{key}' must be a list of objects")
    if len(raw) > limits.max_channels:
        raise RetargetError(f"'{key}' has {len(raw):,} entries; the limit is {limits.max_channels:,} output channels")
    return raw


def _merge(inherited: list[dict], own: list, key: str, removed: set[str]) -> list:
    """Own entries override inherited ones of the same name key by key, in the inherited place."""
    names = [raw.get(key) if isinstance(raw, dict) else None for raw in own]
    _check_unique([n for n in names if isinstance(n, str)], "target" if key == "name" else "bone")
    own_by_name = {name: raw for name, raw in zip(names, own) if isinstance(name, str)}
    merged = [{**entry, **own_by_name.get(entry[key], {})} for entry in inherited if entry[key] not in removed]
    inherited_names = {entry[key] for entry in inherited}
    return merged + [raw for name, raw in zip(names, own) if not (isinstance(name, str) and name in inherited_names)]


def _targets(raws: list, layout: MotionLayout, limits: MapLimits) -> list[Target]:
    targets = []
    for i, raw in enumerate(raws):
        target = _target(raw, i, layout, limits)
        targets.append(target)
        twin = raw.get("mirror")
        if twin is not None:
            if not isinstance(twin, str) or not twin:
                raise RetargetError(f"target {quote(target.name)}: 'mirror' must be the twin target's name")
            twin = _name(twin, f"target {quote(target.name)}: 'mirror'", limits)
            targets.append(replace(target, name=twin, sources=mirror_sources(target.sources, layout)))
        if len(targets) > limits.max_channels:
            raise RetargetError(
                f"the map has more than {limits.max_channels:,} targets (mirror twins included), the limit"
            )
    return targets


def _target(raw: Any, index: int, layout: MotionLayout, limits: MapLimits) -> Target:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise RetargetError(f"targets[{index}] must be an object with a non-empty string 'name'")
    name = _name(raw["name"], f"targets[{index}]: 'name'", limits)
    where = f"target {quote(name)}"
    _check_keys(raw, TARGET_KEYS, where)
    sources = raw.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise RetargetError(f"{where}: 'sources' must be a non-empty object of source channel -> weight")
    weights = tuple(
        (
            check_channel(channel, layout.channels, layout.name, where),
            finite(weight, f"{where}: weight of {quote(channel)}"),
        )
        for channel, weight in sources.items()
    )
    return Target(
        name,
        weights,
        gain=finite(raw.get("gain", 1.0), f"{where}: gain"),
        offset=finite(raw.get("offset", 0.0), f"{where}: offset"),
        clamp=_clamp(raw.get("clamp"), where),
        curve=parse_curve(raw.get("curve"), where, limits.max_curve_points),
        smoothing=_smoothing(raw.get("smoothing", 0.0), where),
    )


def _bone(raw: Any, index: int, layout: MotionLayout, limits: MapLimits) -> Bone:
    if not isinstance(raw, dict) or not isinstance(raw.get("bone"), str) or not raw["bone"]:
        raise RetargetError(f"bones[{index}] must be an object with a non-empty string 'bone'")
    name = _name(raw["bone"], f"bones[{index}]: 'bone'", limits)
    where = f"bone {quote(name)}"
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
                f"{where}: {quote(channel)} is not a rotation channel; accepted: {', '.join(layout.rotation_channels)}"
            )
    convention = raw.get("convention", "unity")
    if not isinstance(convention, str) or convention not in CONVENTIONS:
        raise RetargetError(f"{where}: unknown convention {quote(convention)}; accepted: {', '.join(CONVENTIONS)}")
    output = raw.get("output", "quaternion")
    if not isinstance(output, str) or output not in OUTPUTS:
        raise RetargetError(f"{where}: unknown output {quote(output)}; accepted: {', '.join(OUTPUTS)}")
    if output == "euler_degrees" and CONVENTIONS[convention].euler is None:
        raise RetargetError(f"{where}: {convention} rotations are quaternions only; use output 'quaternion'")
    return Bone(
        name,
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


def _name(value: str, what: str, limits: MapLimits) -> str:
    if len(value) > limits.max_name_chars:
        raise RetargetError(f"{what} {quote(value)} is longer than the limit of {limits.max_name_chars} characters")
    return value


def _check_keys(raw: dict, accepted: tuple[str, ...], where: str) -> None:
    unknown = [key for key in raw if key not in accepted]
    if unknown:
        shown = quote(sorted(unknown, key=str)) if len(unknown) <= 1000 else f"{len(unknown):,} keys"
        raise RetargetError(f"{where}: unknown key(s) {shown}; accepted: {', '.join(accepted)}")


def _check_unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise RetargetError(f"duplicate {what} {quote(name)}; each name may appear once")
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
