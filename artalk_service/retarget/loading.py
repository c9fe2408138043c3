"""A map's text (JSON, or YAML for maps written by hand) -> plain data, within MapLimits.

Each limit is checked before the work it bounds: the size before parsing, the nesting
while YAML is composed (PyYAML's composer recurses) and after JSON is decoded, the
nodes YAML aliases stand for as each alias is met (an alias bomb of a few hundred bytes
stands for billions), the digits of an integer before it is converted. An error never
quotes the text: a file's YAML snippet could hold anything that file holds.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import yaml
import yaml.composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from artalk_service.retarget.errors import RetargetError, shown
from artalk_service.retarget.limits import LIMITS, MAX_NUMBER, MapLimits

MAX_NUMBER_CHARS = 40  # an integer written with more characters is far beyond MAX_NUMBER


def check_size(text: str, limits: MapLimits = LIMITS) -> None:
    """RetargetError if `text` is over limits.max_bytes of UTF-8 (cheap for any length)."""
    chars = len(text)
    if chars > limits.max_bytes or (
        4 * chars > limits.max_bytes and len(text.encode("utf-8", "surrogatepass")) > limits.max_bytes
    ):
        raise RetargetError(
            f"the map is over the limit of {limits.max_bytes:,} bytes of text ({chars:,} characters); "
            "split it, or drop what it does not need"
        )


def load_text(text: str, limits: MapLimits = LIMITS) -> Any:
    """JSON, or else YAML (a superset for maps written by hand), as plain data within `limits`."""
    check_size(text, limits)
    try:
        spec = json.loads(text, parse_int=_json_int)
    except RecursionError:
        raise RetargetError(_too_deep(limits)) from None
    except json.JSONDecodeError:
        spec = _load_yaml(text, limits)
    check_nesting(spec, limits)
    return spec


def load_file(path: Path, limits: MapLimits = LIMITS, follow_symlinks: bool = True) -> Any:
    """A map file's content: .json files must be JSON (for exact errors), others YAML.

    Only a regular file is read, and no more of it than the limit; with follow_symlinks
    False a symbolic link is refused (OSError) rather than followed.
    """
    text = read_map_file(path, limits, follow_symlinks)
    if path.suffix.lower() != ".json":
        return load_text(text, limits)
    try:
        spec = json.loads(text, parse_int=_json_int)
    except RecursionError:
        raise RetargetError(_too_deep(limits)) from None
    except json.JSONDecodeError as err:
        raise RetargetError(f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    check_nesting(spec, limits)
    return spec


def read_map_file(path: Path, limits: MapLimits = LIMITS, follow_symlinks: bool = True) -> str:
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)  # a FIFO put in its place must not block the read
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise RetargetError(f"{path.name} is not a regular file")
        data = f.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise RetargetError(f"{path.name} is over the limit of {limits.max_bytes:,} bytes")
    return data.decode("utf-8")


def check_nesting(spec: Any, limits: MapLimits = LIMITS) -> None:
    """RetargetError if lists and objects nest deeper than limits.max_depth (no recursion here)."""
    stack = [(spec, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        if depth > limits.max_depth:
            raise RetargetError(_too_deep(limits))
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def _too_deep(limits: MapLimits) -> str:
    return f"the map nests lists and objects deeper than the limit of {limits.max_depth} levels"


def _long_number(chars: int) -> RetargetError:
    return RetargetError(
        f"the map has an integer written with {chars:,} characters; numbers are at most {shown(MAX_NUMBER)}"
    )


def _json_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:  # int() of 5,000 digits raises ValueError; of 400, float() overflows
        raise _long_number(len(text))
    return int(text)


class _Limited:
    """What makes a YAML loader keep MapLimits (mixed in before PyYAML's Composer): it refuses
    deep nesting before the composer recurses into it, aliases once the nodes they stand for
    pass max_alias_nodes, an alias inside the node it names (a recursive structure), and
    integers of many digits; and it frees the composed nodes one by one."""

    def _limit(self, limits: MapLimits) -> None:
        self.limits = limits
        self.depth = 0
        self.alias_nodes = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            node = self.anchors.get(self.peek_event().anchor)
            if node is not None:  # (an undefined alias: the composer's own error)
                size = getattr(node, "expanded_nodes", None)
                if size is None:
                    raise RetargetError("YAML: an alias inside the node it names; a map is no recursive structure")
                self.alias_nodes += size
                if self.alias_nodes > self.limits.max_alias_nodes:
                    raise RetargetError(
                        f"YAML aliases stand for more than the limit of {self.limits.max_alias_nodes:,} nodes"
                    )
            return super().compose_node(parent, index)
        container = self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent)
        if container:
            self.depth += 1
            if self.depth > self.limits.max_depth:
                raise RetargetError(_too_deep(self.limits))
        node = super().compose_node(parent, index)
        if container:
            self.depth -= 1
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            children = []
        node.expanded_nodes = 1 + sum(child.expanded_nodes for child in children)  # what an alias to it stands for
        return node

    def get_single_data(self):
        node = self.get_single_node()
        if node is None:
            return None
        try:
            return self.construct_document(node)
        finally:
            _release(node)

    def construct_yaml_int(self, node):
        if len(node.value) > MAX_NUMBER_CHARS:
            raise _long_number(len(node.value))
        return super().construct_yaml_int(node)


class MapLoader(_Limited, yaml.SafeLoader):
    """PyYAML's SafeLoader within MapLimits (all Python)."""

    def __init__(self, text: str, limits: MapLimits = LIMITS) -> None:
        yaml.SafeLoader.__init__(self, text)
        self._limit(limits)


MapLoader.add_constructor("tag:yaml.org,2002:int", MapLoader.construct_yaml_int)
LOADERS: list[type] = [MapLoader]

if yaml.__with_libyaml__:  # libyaml reads the text 3x faster; the composing, with its limits, stays here (yaml.cyaml
    # is imported by yaml itself when libyaml is there)

    class FastMapLoader(_Limited, yaml.composer.Composer, yaml.cyaml.CParser, SafeConstructor, Resolver):
        """MapLoader on libyaml's parser: its events, PyYAML's composer (not libyaml's, which
        recurses in C without a limit), the safe constructor."""

        def __init__(self, text: str, limits: MapLimits = LIMITS) -> None:
            yaml.cyaml.CParser.__init__(self, text)
            yaml.composer.Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self._limit(limits)

    FastMapLoader.add_constructor("tag:yaml.org,2002:int", FastMapLoader.construct_yaml_int)
    LOADERS.insert(0, FastMapLoader)


def _release(root: yaml.Node) -> None:
    """Free a composed document node by node. Dropped at once, a large one (a node and two marks
    per value) is freed in one call that holds the GIL, and so every thread, for 100 ms; freed
    from Python code here, other threads run between the steps."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
            node.value = []
        elif isinstance(node, yaml.MappingNode):
            stack.extend(child for pair in node.value for child in pair)
            node.value = []


def _load_yaml(text: str, limits: MapLimits, loader_class: type | None = None) -> Any:
    loader = (loader_class or LOADERS[0])(text, limits)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        raise RetargetError(f"retarget map is neither valid JSON nor YAML: {_yaml_problem(err)}") from None
    except yaml.YAMLError as err:  # the reader's: a character YAML does not allow
        raise RetargetError(f"retarget map is neither valid JSON nor YAML: {str(err)[:200]}") from None
    except RecursionError:  # not reached within max_depth; a last guard
        raise RetargetError(_too_deep(limits)) from None
    finally:
        loader.dispose()


def _yaml_problem(err: yaml.MarkedYAMLError) -> str:
    """Where and what, without the snippet of the text that PyYAML's message shows."""
    problem = "; ".join(part for part in (err.context, err.problem) if part)[:200] or "invalid YAML"
    mark = err.problem_mark or err.context_mark
    return f"YAML line {mark.line + 1} column {mark.column + 1}: {problem}" if mark else problem
