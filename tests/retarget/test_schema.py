"""The published JSON Schema accepts every preset and documented example, and matches the layout."""

import json
import re
from pathlib import Path

import jsonschema
import pytest

from artalk_service.layout import ARKIT61
from artalk_service.retarget import PRESETS, get_preset, parse_map
from artalk_service.retarget.presets import PRESET_DIR

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "artalk_service" / "retarget" / "schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def doc_examples() -> list[dict]:
    """Every ```json block in docs/retarget.md that is a whole map (has targets or bones)."""
    text = (ROOT / "docs" / "retarget.md").read_text()
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", text, re.S)]
    return [b for b in blocks if isinstance(b, dict) and ("targets" in b or "bones" in b)]


def test_the_schema_is_valid_and_lists_the_layouts_channels():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    target, bone = SCHEMA["$defs"]["target"], SCHEMA["$defs"]["bone"]
    assert target["properties"]["sources"]["propertyNames"]["enum"] == list(ARKIT61.channels)
    assert bone["properties"]["from"]["items"]["enum"] == list(ARKIT61.rotation_channels)


@pytest.mark.parametrize("name", PRESETS)
def test_every_resolved_preset_validates(name):
    VALIDATOR.validate(PRESETS[name].to_spec())


@pytest.mark.parametrize("path", sorted(PRESET_DIR.glob("*.json")), ids=lambda p: p.name)
def test_every_preset_file_validates(path):
    VALIDATOR.validate(json.loads(path.read_text()))


def test_the_documented_examples_validate_and_parse():
    examples = doc_examples()
    assert len(examples) >= 4
    for example in examples:
        VALIDATOR.validate(example)
        assert parse_map(example, ARKIT61, get_preset).names


@pytest.mark.parametrize(
    "spec",
    [
        {"targets": [{"name": "a", "sources": {"JawOpn": 1}}]},
        {"targets": [{"name": "a", "sources": {"JawOpen": 1}, "curve": {"type": "cubic"}}]},
        {"targets": [{"name": "a", "sources": {"JawOpen": 1}, "clamp": [0, 1, 2]}]},
        {"targets": [{"name": "a", "sources": {"JawOpen": 1}, "gian": 2}]},
        {"bones": [{"bone": "head", "from": ["HeadYaw", "HeadPitch", "JawOpen"]}]},
        {"tragets": []},
    ],
)
def test_the_schema_rejects_what_the_parser_rejects(spec):
    assert not VALIDATOR.is_valid(spec)
