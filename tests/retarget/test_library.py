"""Folder maps: presets by file stem, hot reload, and a broken edit keeps the last good map."""

import itertools
import json
import logging
import os

import pytest

from artalk_service.layout import ARKIT61
from artalk_service.retarget import PRESETS, MapLibrary

_clock = itertools.count(1)


def write(path, content) -> None:
    """Write and give the file a new modification time, as an editor's save would."""
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    stamp = 1_700_000_000_000_000_000 + next(_clock) * 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


JAW = {"targets": [{"name": "jaw", "sources": {"JawOpen": 1}}]}


@pytest.fixture
def library(tmp_path):
    return MapLibrary(ARKIT61, tmp_path)


def test_maps_in_the_folder_become_presets_named_by_file_stem(library, tmp_path):
    write(tmp_path / "hero.json", {**JAW, "name": "ignored"})
    write(tmp_path / "villain.yaml", "extends: hero\ntargets:\n  - name: funnel\n    sources: {MouthFunnel: 1}\n")
    write(tmp_path / "notes.txt", "not a map")
    assert library.refresh()
    assert list(library.presets) == [*PRESETS, "hero", "villain"]
    assert library.get("hero").name == "hero"
    assert library.get("villain").names == ["jaw", "funnel"]
    assert library.parse('{"extends": "villain", "targets": []}').names == ["jaw", "funnel"]
    assert not library.refresh()  # nothing changed, nothing re-read


def test_an_edit_is_picked_up_and_a_broken_edit_keeps_the_last_good_map(library, tmp_path, caplog):
    path = tmp_path / "hero.json"
    write(path, JAW)
    library.refresh()
    write(path, {"targets": [{"name": "jaw", "sources": {"JawOpen": 2}}]})
    assert library.refresh()
    good = library.get("hero")
    assert dict(good.targets[0].sources) == {"JawOpen": 2.0}

    with caplog.at_level(logging.WARNING, logger="artalk.retarget"):
        write(path, '{"targets": [{"name": "jaw", "sources": {"JawOpn": 3}}]}')
        assert library.refresh()
    assert library.get("hero") is good
    assert "hero.json: target 'jaw': unknown source channel 'JawOpn'; did you mean 'JawOpen'?" in library.errors["hero"]
    assert "keeping its last good version" in caplog.text and "JawOpn" in caplog.text

    write(path, '{"targets": [')  # a half-saved file
    library.refresh()
    assert library.get("hero") is good and "invalid JSON at line 1" in library.errors["hero"]

    write(path, {"targets": [{"name": "jaw", "sources": {"JawOpen": 4}}]})
    library.refresh()
    assert dict(library.get("hero").targets[0].sources) == {"JawOpen": 4.0} and not library.errors


def test_a_map_that_was_never_valid_is_not_offered_and_says_why_to_the_operator_only(library, tmp_path):
    write(tmp_path / "broken.json", {"targets": [{"name": "a", "sources": {"JawOpen": 1}, "clamp": [1, 0]}]})
    library.refresh()
    assert "broken" not in library.presets
    assert "broken.json: target 'a': clamp range [1.0, 0.0] is inverted" in library.errors["broken"]
    with pytest.raises(KeyError) as err:  # what a client that names it is told: not the file's content
        library.get("broken")
    assert "retarget preset 'broken' is not available: its map file on the server is invalid" in err.value.args[0]
    assert "clamp" not in err.value.args[0] and "'broken'," not in err.value.args[0]


def test_deleting_a_file_removes_its_preset(library, tmp_path):
    write(tmp_path / "hero.json", JAW)
    library.refresh()
    (tmp_path / "hero.json").unlink()
    assert library.refresh()
    assert "hero" not in library.presets


def test_extends_cycles_and_built_in_names_are_rejected(library, tmp_path):
    write(tmp_path / "a.json", {"extends": "b", "targets": []})
    write(tmp_path / "b.json", {"extends": "a", "targets": []})
    write(tmp_path / "arkit61.json", JAW)
    library.refresh()
    assert set(library.errors) == {"a", "b", "arkit61"}
    assert "cycle" in library.errors["a"] + library.errors["b"]
    assert "built-in preset name" in library.errors["arkit61"]
    assert library.get("arkit61") is PRESETS["arkit61"]


def test_a_map_extending_a_broken_one_inherits_its_last_good_version(library, tmp_path):
    write(tmp_path / "base.json", JAW)
    write(tmp_path / "child.json", {"extends": "base", "targets": [{"name": "extra", "sources": {"MouthPucker": 1}}]})
    library.refresh()
    write(tmp_path / "base.json", "{")
    library.refresh()
    assert library.get("child").names == ["jaw", "extra"]


def test_without_a_folder_only_built_ins():
    library = MapLibrary(ARKIT61)
    assert not library.refresh()
    assert library.presets == PRESETS
