"""Regenerate the Python gRPC code of proto/artalk/v1 into artalk_service/api.

    python tools/gen_proto.py            # write the generated files
    python tools/gen_proto.py --check    # exit 1 if the committed files are stale

protoc writes imports as `from artalk.v1 import ...`; they are rewritten to the
package path so the stubs live in a subpackage, never on sys.path top level.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_DIR = ROOT / "artalk_service" / "api"
PACKAGE = "artalk_service.api"


def generate(out_dir: Path) -> list[Path]:
    from grpc_tools import protoc  # dev dependency, needed only to regenerate

    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    args = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    written = sorted(p for p in out_dir.rglob("*") if p.suffix in (".py", ".pyi"))
    for path in written:
        text = path.read_text().replace("from artalk.v1 import", f"from {PACKAGE}.artalk.v1 import")
        path.write_text(text)
    for package_dir in {p.parent for p in written} | {out_dir / "artalk"}:
        (package_dir / "__init__.py").touch()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = parser.parse_args()
    if not args.check:
        generate(OUT_DIR)
        print(f"generated into {OUT_DIR.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        stale = [
            p.relative_to(tmp)
            for p in fresh
            if not (OUT_DIR / p.relative_to(tmp)).exists()
            or (OUT_DIR / p.relative_to(tmp)).read_text() != p.read_text()
        ]
    if stale:
        print("stale generated code, run `python tools/gen_proto.py`:", *stale, sep="\n  ")
        return 1
    print("generated code is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
