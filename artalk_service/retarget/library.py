"""The presets a session can choose: the built-ins plus the maps in a folder, hot-reloaded.

Every *.json, *.yaml and *.yml file in the folder is a preset named by its file stem
(a "name" inside the file is overridden). refresh() re-reads the folder when any
file's modification time or size changed; the server calls it about once a second.
A file that no longer parses keeps its last good map and the reason is logged, so a
half-saved edit never takes a character's face away. Sessions keep the map object
they started with, so a reload never changes a running session.

Only regular files are read: a symbolic link in the folder is never followed (it is
logged and skipped), so the folder cannot serve, or quote, a file from elsewhere. Why a
file was rejected goes to the log and to `errors` (for the operator's tools), never to
a client: get() says only that the preset's file is invalid, and the names it offers
are the presets that can be used.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path

from artalk_service.layout import MotionLayout
from artalk_service.quoting import names, quote
from artalk_service.retarget.errors import RetargetError
from artalk_service.retarget.limits import LIMITS, MapLimits
from artalk_service.retarget.map import RetargetMap
from artalk_service.retarget.parse import load_file, parse_map
from artalk_service.retarget.presets import PRESETS

log = logging.getLogger("artalk.retarget")
MAP_SUFFIXES = (".json", ".yaml", ".yml")


class MapLibrary:
    def __init__(
        self,
        layout: MotionLayout,
        folder: Path | None = None,
        builtin: dict[str, RetargetMap] = PRESETS,
        limits: MapLimits = LIMITS,
    ) -> None:
        self.layout = layout
        self.folder = folder
        self.limits = limits
        self._builtin = builtin
        self._folder_maps: dict[str, RetargetMap] = {}
        self._errors: dict[str, str] = {}  # file stem -> why its current content is rejected
        self._signature: dict[Path, tuple[int, int]] | None = None
        self._links: set[str] = set()  # symbolic links in the folder, skipped (logged once)

    @property
    def presets(self) -> dict[str, RetargetMap]:
        """Every name a session can choose, built-ins first."""
        return {**self._builtin, **self._folder_maps}

    @property
    def errors(self) -> dict[str, str]:
        """Folder maps whose current file is rejected, with the reason: for the log and the
        operator's tools, not for clients (it can quote the file)."""
        return dict(self._errors)

    def get(self, name: str) -> RetargetMap:
        """The preset called `name`, or KeyError saying (to a client) why there is none."""
        presets = self.presets
        if name in presets:
            return presets[name]
        if name in self._errors:
            raise KeyError(
                f"retarget preset {quote(name)} is not available: its map file on the server is invalid "
                f"(the server log says why); available: {names(sorted(presets))}"
            )
        raise KeyError(f"unknown retarget preset {quote(name)}; available: {names(sorted(presets))}")

    def parse(self, text_or_dict: str | dict) -> RetargetMap:
        """An inline map, whose `extends` may name any preset here."""
        return parse_map(text_or_dict, self.layout, self.get, self.limits)

    def refresh(self) -> bool:
        """Re-read the folder if any map file changed; True if it did."""
        if self.folder is None:
            return False
        signature: dict[Path, tuple[int, int]] = {}
        links = set()
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if Path(entry.name).suffix.lower() not in MAP_SUFFIXES:
                    continue
                if entry.is_symlink():
                    links.add(entry.name)
                elif entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    signature[Path(entry.path)] = (info.st_mtime_ns, info.st_size)
        for name in sorted(links - self._links):
            log.warning("retarget map file %s is a symbolic link; links are not followed, so it is no preset", name)
        self._links = links
        signature = dict(sorted(signature.items()))
        if signature == self._signature:
            return False
        self._signature = signature
        self._load({p.stem: p for p in signature})
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
            usable = [*self._builtin, *(stem for stem in files if stem not in errors and stem not in loading)]
            raise KeyError(f"unknown retarget preset {quote(name)}; available: {names(sorted(usable))}")

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
        spec = load_file(path, self.limits, follow_symlinks=False)  # a link put in its place since refresh(): OSError
        return replace(parse_map(spec, self.layout, resolve, self.limits), name=stem)

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
