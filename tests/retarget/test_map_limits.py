"""Hostile maps, parser side (issue 20): alias bombs, deep nesting, huge numbers, long strings,
maps that would output Inf, and a folder that must not follow links or quote rejected files.

Each test named test_itemNN_... is the regression test of item NN of issue 20; the server
side of the same items is tests/server/test_hardening_maps.py.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time

import numpy as np
import pytest
import yaml

from artalk_service.layout import ARKIT61
from artalk_service.quoting import quote
from artalk_service.retarget import MapLibrary, RetargetError, get_preset, parse_map
from artalk_service.retarget.limits import LIMITS, OUTPUT_LIMIT


def parse(text_or_dict):
    return parse_map(text_or_dict, ARKIT61, get_preset)


def alias_bomb(levels: int, fan: int = 9) -> str:
    """`levels` nested anchors, each a list of `fan` aliases of the one before: fan**levels
    strings once expanded. Its only use is a weight, which an error message then quotes."""
    anchors = ["&a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    anchors += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]" for i in range(1, levels)]
    return "$schema: [" + ", ".join(anchors) + f"]\ntargets: [{{name: t, sources: {{JawOpen: *a{levels - 1}}}}}]\n"


# ------------------------------------------------------------------ item 1: alias bombs
@pytest.mark.parametrize("levels", [4, 9])
def test_item01_yaml_alias_bomb_is_refused_fast(levels):
    text = alias_bomb(levels)
    assert len(text) < 600  # the bomb was 543 bytes; nine levels stand for 9**9 strings
    start = time.perf_counter()
    with pytest.raises(RetargetError) as err:
        parse(text)
    assert time.perf_counter() - start < 1.0
    assert "YAML aliases stand for more than the limit of 10,000 nodes" in str(err.value)


def test_item01_a_few_aliases_are_fine_and_quoting_an_aliased_value_is_cheap():
    shared = (
        "targets:\n"
        "  - {name: a, sources: {JawOpen: 1}, curve: &soft {type: power, exponent: 1.5}}\n"
        "  - {name: b, sources: {MouthFunnel: 1}, curve: *soft}\n"
    )
    assert parse(shared).names == ["a", "b"]
    # A value that stands for millions of strings, built without YAML, is quoted in microseconds.
    value: list = ["lol"] * 9
    for _ in range(8):
        value = [value] * 9
    start = time.perf_counter()
    shown = quote(value)
    assert time.perf_counter() - start < 0.05 and len(shown) < 300


# ------------------------------------------------------------------ item 4: size limits
def test_item04_limits_are_checked_before_the_work_they_bound():
    over = '{"targets": [{"name": "a", "sources": {"JawOpen": 1}}], "description": "' + "x" * LIMITS.max_bytes + '"}'
    start = time.perf_counter()
    with pytest.raises(RetargetError, match="over the limit of 1,048,576 bytes"):
        parse(over)
    assert time.perf_counter() - start < 0.05  # refused by its length, not parsed
    points = [[i, i % 2] for i in range(LIMITS.max_curve_points + 1)]
    curve = {"targets": [{"name": "a", "sources": {"JawOpen": 1}, "curve": {"type": "piecewise", "points": points}}]}
    with pytest.raises(RetargetError, match="257 points; the limit is 256 points per curve"):
        parse(json.dumps(curve))
    many = {"targets": [{"name": f"t{i}", "sources": {"JawOpen": 1}} for i in range(LIMITS.max_channels + 1)]}
    with pytest.raises(RetargetError, match="'targets' has 2,049 entries; the limit is 2,048 output channels"):
        parse(json.dumps(many))
    mirrored = {"targets": [{"name": f"t{i}", "sources": {"JawOpen": 1}, "mirror": f"m{i}"} for i in range(1025)]}
    with pytest.raises(RetargetError, match="more than 2,048 targets"):
        parse(json.dumps(mirrored))
    bones = {
        "extends": "arkit61",  # 61 targets, and 500 bones of 4 channels each
        "bones": [{"bone": f"b{i}", "from": ["HeadYaw", "HeadPitch", "HeadRoll"]} for i in range(500)],
    }
    with pytest.raises(RetargetError, match="2,061 output channels"):
        parse(json.dumps(bones))


def test_item04_a_map_at_every_limit_is_accepted():
    points = [[i / 255, (i % 2) * 0.5] for i in range(LIMITS.max_curve_points)]
    targets = [{"name": f"t{i:04d}", "sources": {"JawOpen": 1.0}} for i in range(LIMITS.max_channels - 1)]
    targets.append(
        {
            "name": "n" * LIMITS.max_name_chars,
            "sources": {"JawOpen": 1},
            "curve": {"type": "piecewise", "points": points},
        }
    )
    text = json.dumps({"targets": targets})
    assert len(text) <= LIMITS.max_bytes
    assert len(parse(text).names) == LIMITS.max_channels


# ------------------------------------------------------------------ item 5: never anything but RetargetError
def _deep_json(depth: int) -> str:
    return '{"targets": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize(
    "text, message",
    [
        (_deep_json(1000), "deeper than the limit of 16 levels"),
        ("[" * 100_000 + "]" * 100_000, "deeper than the limit of 16 levels"),
        ("targets: " + "[" * 1000 + "]" * 1000, "deeper than the limit of 16 levels"),  # YAML flow style (*)
        ("".join(f"{' ' * i}a{i}:\n" for i in range(1000)) + " " * 1000 + "x: 1\n", "deeper than the limit"),
        ('{"targets": [{"name": "a", "sources": {"JawOpen": 1' + "0" * 309 + "}}]}", "integer written with 310"),
        ('{"targets": [{"name": "a", "sources": {"JawOpen": 1' + "0" * 5000 + "}}]}", "integer written with 5,001"),
        ("targets: [{name: a, sources: {JawOpen: 1" + "0" * 309 + "}}]", "integer written with 310"),
        ("targets: [{name: a, sources: {JawOpen: 1" + "0" * 5000 + "}}]", "integer written with 5,001"),
        ("targets: [{name: a, sources: {JawOpen: 0x" + "f" * 300 + "}}]", "integer written with 302"),
        ('{"targets": [{"name": "a", "sources": {"JawOpen": 1e999}}]}', "must be a finite number, got inf"),
        ("{1: x, a: y}", "unknown key(s) [1, 'a']"),  # keys of mixed types: sorted() raised TypeError
        (
            "targets: [{name: a, sources: {JawOpen: 1}}]\nbones: [{bone: b, from: [HeadYaw, HeadPitch, HeadRoll], "
            "convention: [x]}]",
            "unknown convention ['x']",
        ),  # an unhashable value: `in dict` raised TypeError
        ("extends: [arkit61]", "'extends' must be a preset name"),
        ("targets: [{name: [a], sources: {JawOpen: 1}}, {name: [a], sources: {JawOpen: 1}}]", "non-empty string"),
        ("targets: [{name: a, sources: {[JawOpen]: 1}}]", "found unhashable key"),
        ("a: &a [*a]", "an alias inside the node it names"),
        ("targets: !!binary aGVsbG8=", "'targets' must be a list"),
        ("--- {}\n--- {}\n", "expected a single document"),
    ],
)
def test_item05_invalid_maps_raise_retarget_error_only(text, message):
    with pytest.raises(RetargetError) as err:  # never RecursionError, OverflowError, ValueError, TypeError
        parse(text)
    # (*) libyaml's own scanner stops flow nesting at 1,000 levels, before the composer's limit
    assert message in str(err.value) or "exceeded maximum nesting depth" in str(err.value)
    assert len(str(err.value)) < 1000


def _loaders() -> list[type]:
    try:  # (a module of the fix: imported here, so that the other tests run on the code before it)
        from artalk_service.retarget.loading import LOADERS
    except ImportError:
        return [None]
    return LOADERS


@pytest.mark.parametrize("loader", _loaders(), ids=lambda c: getattr(c, "__name__", "none"))
@pytest.mark.parametrize(
    "text, message",
    [
        (alias_bomb(9), "YAML aliases stand for more than the limit of 10,000 nodes"),
        ("".join(f"{' ' * i}k{i}:\n" for i in range(1000)) + " " * 1000 + "x: 1\n", "deeper than the limit"),
        ("k: " + "[" * 17 + "]" * 17, "deeper than the limit of 16 levels"),
        ("a: &a [*a]", "an alias inside the node it names"),
        ("a: 1" + "0" * 5000, "integer written with 5,001 characters"),
    ],
    ids=["bomb", "block-deep", "flow-17", "recursive", "digits"],
)
def test_item01_item05_both_yaml_loaders_keep_the_limits(loader, text, message):
    from artalk_service.retarget.loading import _load_yaml

    with pytest.raises(RetargetError, match=re.escape(message)):
        _load_yaml(text, LIMITS, loader)


def test_the_yaml_loaders_agree_on_a_real_map():
    text = (
        "extends: oculus_visemes\nbase: &b {name: x, sources: {JawOpen: 1}}\n"
        "targets: [{<<: *b, gain: 1.5}, {name: y, sources: {JawOpen: 0x10}, clamp: [0, 1]}]\n"
    )
    from artalk_service.retarget.loading import LOADERS, _load_yaml

    results = [_load_yaml(text, LIMITS, loader) for loader in LOADERS]
    assert all(r == results[0] for r in results) and results[0]["targets"][0] == {
        "name": "x",
        "sources": {"JawOpen": 1},
        "gain": 1.5,
    }


def test_item05_deep_data_passed_as_a_dict_is_refused_too():
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(RetargetError, match="deeper than the limit"):
        parse({"targets": deep})


# ------------------------------------------------------------------ item 7: quotes are cut
def test_item07_every_quote_of_client_input_is_bounded():
    assert quote("JawOpn") == "'JawOpn'"
    long = quote("x" * 15_000)
    assert long.startswith("'xxxx") and "(15000 characters)" in long and len(long) < 120
    assert quote(10**5000) == "an integer of about 5001 digits"
    assert quote(b"\x00" * 10_000).endswith("(10000 bytes)")
    assert quote([[[[1, 2, 3, 4, 5]]]]) == "[[[[...]]]]"
    assert quote("line\nbreak") == "'line\\nbreak'"  # repr escapes: no forged log lines
    for text, fragment in [
        (json.dumps({"targets": [{"name": "a", "sources": {"J" * 15_000: 1}}]}), "unknown source channel"),
        (json.dumps({"targets": [{"name": "a", "sources": {"JawOpen": 1}, "k" * 15_000: 1}]}), "unknown key(s)"),
        (json.dumps({"targets": [{"name": "a" * 15_000, "sources": {"JawOpen": 1}}]}), "longer than the limit"),
        (json.dumps({"extends": "p" * 15_000}), "longer than the limit"),
        (json.dumps({"extends": "p" * 200}), "unknown retarget preset"),
        (json.dumps({"layout": "l" * 15_000}), "'layout' is"),
        (json.dumps({"remove": ["r" * 15_000], "extends": "arkit61"}), "'remove'"),
        (json.dumps({"targets": [{"name": "a", "sources": {"JawOpen": "w" * 15_000}}]}), "finite number"),
        (json.dumps({"targets": [{"name": "a", "sources": {"JawOpen": 1}, "curve": "c" * 15_000}]}), "bad curve"),
        ("é" * 15_000, "a retarget map must be an object"),
    ]:
        with pytest.raises(RetargetError) as err:
            parse(text)
        assert fragment in str(err.value) and len(str(err.value)) < 600, str(err.value)[:200]


def test_item07_preset_lists_are_cut():
    with pytest.raises(KeyError) as err:
        get_preset("p" * 15_000)
    assert len(err.value.args[0]) < 600 and "available: 'arkit61'" in err.value.args[0]


# ------------------------------------------------------------------ item 10: no NaN or Inf out
@pytest.mark.parametrize(
    "target, message",
    [
        ({"sources": {"JawOpen": 1e39}}, "weight of 'JawOpen' 1e+39 is out of range; accepted: -1e6 to 1e6"),
        ({"sources": {"JawOpen": 1}, "gain": 1e200}, "gain 1e+200 is out of range"),
        ({"sources": {"JawOpen": 1}, "offset": -1e7}, "offset -10000000.0 is out of range"),
        ({"sources": {"JawOpen": 1}, "curve": {"type": "power", "exponent": 1e30}}, "exponent 1e+30 is out of range"),
        ({"sources": {"JawOpen": 1}, "clamp": [0, 1e300]}, "clamp 1e+300 is out of range"),
        ({"sources": {"JawOpen": 1}, "curve": {"type": "smoothstep", "edges": [0, 1e-300]}}, "at least 1e-6"),
        ({"sources": {"JawOpen": 1}, "curve": {"type": "piecewise", "points": [[0, 0], [1, 1e9]]}}, "out of range"),
        ({"sources": {"JawOpen": 1}, "smoothing": 1e300}, "smoothing 1e+300 is out of range"),
    ],
)
def test_item10_numbers_that_overflow_are_refused(target, message):
    with pytest.raises(RetargetError) as err:
        parse(json.dumps({"targets": [{"name": "a", **target}]}))
    assert message in str(err.value)


def test_item10_bone_gain_is_bounded():
    bone = {"bone": "head", "from": ["HeadYaw", "HeadPitch", "HeadRoll"], "output": "euler_degrees", "gain": 1e39}
    with pytest.raises(RetargetError, match="gain 1e\\+39 is out of range"):
        parse(json.dumps({"bones": [bone]}))


EXTREME_MAP = {
    "targets": [
        {"name": "weight", "sources": {"JawOpen": 1e6, "MouthClose": 1e6, "HeadYaw": -1e6}, "gain": 1e6},
        {"name": "power", "sources": {"JawOpen": 1e6}, "gain": 1e6, "curve": {"type": "power", "exponent": 100}},
        {"name": "tiny_power", "sources": {"JawOpen": 1}, "curve": {"type": "power", "exponent": 1e-6}},
        {"name": "steep", "sources": {"JawOpen": 1e6}, "curve": {"type": "smoothstep", "edges": [0, 1e-6]}},
        {
            "name": "bands",
            "sources": {"JawOpen": 1e6},
            "curve": {"type": "piecewise", "points": [[-1e6, 1e6], [1e6, -1e6]]},
        },
        {"name": "smooth", "sources": {"JawOpen": 1e6}, "gain": 1e6, "smoothing": 1e-300},
        {"name": "slow", "sources": {"JawOpen": 1e6}, "gain": 1e6, "smoothing": 1e6},
    ],
    "bones": [
        {"bone": "q", "from": ["HeadYaw", "HeadPitch", "HeadRoll"], "gain": 1e6},
        {"bone": "e", "from": ["HeadYaw", "HeadPitch", "HeadRoll"], "gain": 1e6, "output": "euler_degrees"},
    ],
}


def test_item10_a_map_at_the_bounds_outputs_finite_values_for_any_input(recwarn):
    retarget = parse(json.dumps(EXTREME_MAP))
    rows = [0.0, 1.0, -1.0, 3.4e38, -3.4e38, 1e30, math.inf, -math.inf, math.nan]
    frames = np.array([[v] * ARKIT61.num_channels for v in rows], np.float32)
    state = retarget.new_state(120)
    for _ in range(3):  # smoothing carries state across blocks
        out = retarget.apply(frames.copy(), state)
        assert np.isfinite(out).all(), retarget.names
        assert np.abs(out).max() <= OUTPUT_LIMIT
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]  # nothing printed on stderr
    # The documented rule: NaN in is 0 out for a plain weighted sum; overflow is limited to +-1e9.
    weight = out[:, retarget.names.index("weight")]
    assert weight[0] == 0.0 and weight[-1] == 0.0 and weight[5] == OUTPUT_LIMIT


# ------------------------------------------------------------------ item 11: the folder
def test_item11_the_folder_skips_links_and_tells_clients_nothing_of_a_rejected_file(tmp_path, caplog):
    folder, outside = tmp_path / "maps", tmp_path / "elsewhere"
    folder.mkdir()
    outside.mkdir()
    (outside / "secret.yaml").write_text("targets: [{name: leaked_TOKEN_123, sources: {JawOpen: 1}}]\n")
    os.symlink(outside / "secret.yaml", folder / "linked.yaml")
    (folder / "broken.yaml").write_text("targets:\n  - name: a\n  password: hunter2_TOKEN_123 [\n")
    (folder / "child.json").write_text(json.dumps({"extends": "nope", "targets": []}))
    (folder / "good.json").write_text(json.dumps({"targets": [{"name": "jaw", "sources": {"JawOpen": 1}}]}))
    library = MapLibrary(ARKIT61, folder)
    with caplog.at_level(logging.INFO, logger="artalk.retarget"):
        library.refresh()
    assert "linked" not in library.presets and "linked" not in library.errors
    assert "linked.yaml is a symbolic link" in caplog.text
    assert set(library.errors) == {"broken", "child"}
    assert "TOKEN_123" not in caplog.text and "TOKEN_123" not in "".join(library.errors.values())
    assert "broken.yaml: retarget map is neither valid JSON nor YAML: YAML line 3" in library.errors["broken"]
    assert "'broken'" not in library.errors["child"] and "'linked'" not in library.errors["child"]
    for name in ("broken", "child", "linked"):
        with pytest.raises(KeyError) as err:
            library.get(name)
        message = err.value.args[0]
        assert "TOKEN_123" not in message and "'broken'," not in message and "'linked'," not in message
        assert "'good'" in message  # what may be used instead
    with pytest.raises(KeyError, match="its map file on the server is invalid"):
        library.get("broken")


def test_item11_a_file_swapped_for_a_link_after_the_scan_is_not_followed(tmp_path):
    from artalk_service.retarget.loading import load_file

    target = tmp_path / "secret.yaml"
    target.write_text("targets: [{name: a, sources: {JawOpen: 1}}]\n")
    link = tmp_path / "map.yaml"
    os.symlink(target, link)
    assert load_file(link)["targets"]  # the CLI, on a path it was given, may follow it
    with pytest.raises(OSError):
        load_file(link, follow_symlinks=False)


def test_item11_yaml_errors_carry_no_snippet():
    with pytest.raises(RetargetError) as err:
        parse("targets:\n  - name: a\n  password: hunter2 [\n")
    assert "hunter2" not in str(err.value) and "line 3" in str(err.value)
    assert yaml.safe_load("a: 1") == {"a": 1}  # (the global loader is untouched)
