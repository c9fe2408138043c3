"""The committed generated code must match proto/ (tools/gen_proto.py --check)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_code_is_up_to_date():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_proto.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_message_and_field_is_documented():
    """Each message, field and enum value in the .proto has a comment on the line(s) above it."""
    undocumented = []
    for proto in (ROOT / "proto" / "artalk" / "v1").glob("*.proto"):
        lines = proto.read_text().splitlines()
        for i, line in enumerate(lines):
            text = line.strip()
            is_field = text.endswith(";") and "=" in text and not text.startswith(("option", "syntax", "//"))
            is_message = text.startswith(("message ", "enum ", "service ", "rpc "))
            if not (is_field or is_message):
                continue
            prev = lines[i - 1].strip()
            # Consecutive fields may share one comment, as may the members of a commented oneof.
            grouped = is_field and (
                (prev.endswith(";") and "=" in prev)
                or (prev.startswith("oneof") and lines[i - 2].strip().startswith("//"))
            )
            if not prev.startswith("//") and not grouped:
                if not (is_message and prev == "" and lines[i - 2].strip().startswith("//")):
                    undocumented.append(f"{proto.name}:{i + 1}: {text}")
    assert not undocumented, "undocumented:\n" + "\n".join(undocumented)
