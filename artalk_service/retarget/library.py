"""The presets a session can choose: the built-ins plus the maps in a folder, hot-reloaded.

Every *.json, *.yaml and *.yml file in the folder is a preset named by its file stem
(a "name" inside the file is overridden). refresh() re-reads the folder when any
file's modification time or size changed; the server calls it about once a second.
A file that no longer parses keeps its last good map and the reason is logged, so a
half-saved edit never takes a character's face away. Sessions keep the map object
they started with, so a reload never changes a running session.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from artalk_service.layout import MotionLayout
from artalk_service.retarget.errors import RetargetError
from artalk_service.retarget.map import RetargetMap
from artalk_service.retarget.parse import load_file, parse_map
from artalk_service.retarget.presets import PRESETS

log = logging.getLogger("artalk.retarget")
MAP_SUFFIXES = (".json", ".yaml", ".yml")


class MapLibrary:
    def __init__(
        self, layout: MotionLayout, folder: Path | None = None, builtin: dict[str, RetargetMap] = PRESETS
    ) -> None:
        self.layout = layout
        self.folder = folder
        self._builtin = builtin
        self._folder_maps: dict[str, RetargetMap] = {}
        self._errors: dict[str, str] = {}  # file stem -> why its current content is rejected
        self._signature: dict[Path, tuple[int, int]] | None = None

    @property
    def presets(self) -> dict[str, RetargetMap]:
        """Every name a session can choose, built-ins first."""
        return {**self._builtin, **self._folder_maps}

    @property
    def errors(self) -> dict[str, str]:
        """Folder maps whose current file is rejected, with the reason."""
        return dict(self._errors)

    def get(self, name: str) -> RetargetMap:
        """The preset called `name`, or KeyError saying why there is none."""
        presets = self.presets
        if name in presets:
            return presets[name]
        if name in self._errors:
            raise KeyError(f"retarget preset {name!r} is invalid: {self._errors[name]}")
        raise KeyError(f"unknown retarget preset {name!r}; available: {sorted(presets)}")

    def parse(self, text_or_dict: str | dict) -> RetargetMap:
        """An inline map, whose `extends` may name any preset here."""
        return parse_map(text_or_dict, self.layout, self.get)

    def refresh(self) -> bool:
        """Re-read the folder if any map file changed; True if it did."""
        if self.folder is None:
            return False
        files = sorted(p for p in self.folder.glob("*") if p.suffix.lower() in MAP_SUFFIXES and p.is_file())
        signature = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in files}
        if signature == self._signature:
            return False
        self._signature = signature
        self._load({p.stem: p for p in files})
        return True

    def _load(self, files: dict[str, Path]) -> None:
        loaded: dict[str, RetargetMap] = {}
        errors: dict[str, str] = {}
        loading: set[str] = set()

        def resolve(name: str) -> RetargetMap:
            if name in self._builtin:
                return self._builtin[name]
            if name in files:
                load(name)
                if name in loaded:
                    return loaded[name]
                raise KeyError(f"retarget preset {name!r} is invalid: {errors[name]}")
            raise KeyError(f"unknown retarget preset {name!r}; available: {sorted({**self._builtin, **files})}")

        def load(stem: str) -> None:
            if stem in loaded or stem in errors:
                return
            if stem in loading:
                raise RetargetError(f"'extends' goes round in a cycle through {stem!r}")
            loading.add(stem)
            try:
                loaded[stem] = self._parse_file(stem, files[stem], resolve)
            except (RetargetError, OSError, UnicodeDecodeError) as err:
                errors[stem] = f"{files[stem].name}: {err}"
                if stem in self._folder_maps:  # keep serving the last good version
                    loaded[stem] = self._folder_maps[stem]
            finally:
                loading.discard(stem)

        for stem in files:
            load(stem)
        self._log_changes(loaded, errors)
        self._folder_maps, self._errors = loaded, errors

    def _parse_file(self, stem: str, path: Path, resolve) -> RetargetMap:
        if stem in self._builtin:
            raise RetargetError(f"{stem!r} is a built-in preset name; rename the file")
        return replace(parse_map(load_file(path), self.layout, resolve), name=stem)

    def _log_changes(self, loaded: dict[str, RetargetMap], errors: dict[str, str]) -> None:
        for stem, why in errors.items():
            if self._errors.get(stem) != why:
                kept = "keeping its last good version" if stem in loaded else "it has no good version yet"
                log.warning("retarget map %r rejected, %s: %s", stem, kept, why)
        for stem, new in loaded.items():
            if stem not in errors and self._folder_maps.get(stem) != new:
                log.info("retarget map %r loaded: %d channels", stem, len(new.names))
        for stem in self._folder_maps.keys() - loaded.keys():
            log.info("retarget map %r removed", stem)
