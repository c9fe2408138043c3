"""Shared helpers of the engine-client tests: paths, the CMake build of the native core, its environment,
the C ABI it exports, and the Unity package's assemblies compiled with Mono as Unity would split them.

The build goes to build/clients/cpp (ignored by git) and is kept between runs, so a warm
run only checks that nothing changed. It runs at low priority on two jobs, one build at a
time (a file lock), because the machine's cores are shared.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CPP_SOURCE = ROOT / "clients" / "cpp"
HEADER = CPP_SOURCE / "include" / "artalk_client.h"
BUILD_DIR = ROOT / "build" / "clients" / "cpp"
CSHARP_OUT = ROOT / "build" / "clients" / "csharp"
CSHARP_TESTS = ROOT / "tests" / "clients" / "csharp"
UNITY_PACKAGE = ROOT / "unity_sample" / "com.artalk.face"
UNREAL_PLUGIN = ROOT / "unreal_sample" / "ArtalkFace"


@dataclass(frozen=True)
class CppBuild:
    dir: Path
    library: Path
    cli: Path
    tests: Path


def _run_build(*cmd: str) -> None:
    done = subprocess.run(["nice", "-n", "10", *cmd], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")


def build_cpp() -> CppBuild:
    """clients/cpp built (Release) into build/clients/cpp; incremental."""
    tools = ("cmake", "pkg-config", "protoc", "grpc_cpp_plugin", "c++")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"missing build tools {missing}: run scripts/setup.sh (APT_CLIENTS)")
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with open(BUILD_DIR.parent / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time, even across pytest processes
        if not (BUILD_DIR / "CMakeCache.txt").exists():
            _run_build("cmake", "-S", str(CPP_SOURCE), "-B", str(BUILD_DIR), "-DCMAKE_BUILD_TYPE=Release")
        _run_build("cmake", "--build", str(BUILD_DIR), "-j2")
    return CppBuild(
        BUILD_DIR, BUILD_DIR / "libartalk_client.so", BUILD_DIR / "artalk_cli", BUILD_DIR / "artalk_core_tests"
    )


def library_env(build: CppBuild) -> dict[str, str]:
    """Environment that lets a process find libartalk_client.so."""
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(build.dir), env.get("LD_LIBRARY_PATH", "")]))
    return env


def header_functions() -> set[str]:
    """The functions artalk_client.h declares."""
    return set(re.findall(r"ARTALK_CALL (artalk_\w+)\(", HEADER.read_text()))


def header_constants() -> set[str]:
    """The ARTALK_* macros and enumerators artalk_client.h defines."""
    text = HEADER.read_text()
    return set(re.findall(r"#define (ARTALK_\w+)", text)) | set(re.findall(r"^\s+(ARTALK_\w+) =", text, re.M))


def exported_symbols(build: CppBuild) -> list[str]:
    """The dynamic symbols libartalk_client.so defines."""
    done = subprocess.run(
        ["nm", "-D", "--defined-only", str(build.library)], capture_output=True, text=True, check=True
    )
    return [line.split()[-1] for line in done.stdout.splitlines() if line.strip()]


# ---------------------------------------------------------------- C# (Mono)


def mcs(*args: str) -> None:
    """Mono's C# compiler, C# 6 (what the package is written in), warnings as errors."""
    if shutil.which("mcs") is None or shutil.which("mono") is None:
        pytest.fail("Mono is missing (mono-mcs, mono-runtime): run scripts/setup.sh (APT_CLIENTS)")
    CSHARP_OUT.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["nice", "-n", "10", "mcs", "-langversion:6", "-warnaserror", "-nologo", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@dataclass(frozen=True)
class UnityAssembly:
    """One assembly definition of the package: the scripts Unity compiles into it, and its references."""

    name: str
    asmdef: Path
    definition: dict
    sources: tuple[Path, ...]

    @property
    def references(self) -> list[str]:
        return list(self.definition.get("references", []))

    @property
    def engine_free(self) -> bool:
        return bool(self.definition.get("noEngineReferences", False))


def unity_assemblies() -> dict[str, UnityAssembly]:
    """The package's assemblies as Unity splits them: every .cs belongs to the asmdef in its
    folder or the nearest folder above it (Samples~ included)."""
    asmdefs = {p.parent: p for p in UNITY_PACKAGE.rglob("*.asmdef")}
    owned: dict[Path, list[Path]] = {folder: [] for folder in asmdefs}
    for source in sorted(UNITY_PACKAGE.rglob("*.cs")):
        folder = next((f for f in [source.parent, *source.parent.parents] if f in asmdefs), None)
        assert folder is not None, f"{source.relative_to(UNITY_PACKAGE)} belongs to no assembly definition"
        owned[folder].append(source)
    result = {}
    for folder, asmdef in asmdefs.items():
        definition = json.loads(asmdef.read_text())
        result[definition["name"]] = UnityAssembly(definition["name"], asmdef, definition, tuple(owned[folder]))
    return result


def compile_unity_assemblies(assemblies: dict[str, UnityAssembly]) -> dict[str, Path]:
    """Each assembly compiled into build/clients/csharp/<name>.dll in dependency order, against the
    assemblies it references only, and against the UnityEngine stand-in only when it may use the engine.
    Returns name -> dll, "UnityEngine" included."""
    dlls = {"UnityEngine": CSHARP_OUT / "UnityEngine.dll"}
    mcs("-target:library", f"-out:{dlls['UnityEngine']}", str(CSHARP_TESTS / "UnityEngineStub.cs"))
    pending = dict(assemblies)
    while pending:
        ready = [a for a in pending.values() if all(r in dlls for r in a.references)]
        assert ready, f"unresolvable or cyclic references among {sorted(pending)}"
        for assembly in ready:
            refs = [dlls[r] for r in assembly.references] + ([] if assembly.engine_free else [dlls["UnityEngine"]])
            dlls[assembly.name] = CSHARP_OUT / f"{assembly.name}.dll"
            mcs(
                "-target:library",
                f"-out:{dlls[assembly.name]}",
                *[f"-r:{r}" for r in refs],
                *map(str, assembly.sources),
            )
            del pending[assembly.name]
    return dlls


def run_mono(
    build: CppBuild, exe: Path, *args: str, trace: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`mono exe args` with libartalk_client.so on the library path; with trace, Mono's --trace
    of those methods (its lines start with '[0x')."""
    cmd = ["mono", "--debug", *([f"--trace={trace}"] if trace else []), str(exe), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=library_env(build) | (env or {}))
    program = [line for line in done.stdout.splitlines() if not line.startswith("[0x")]
    print("\n".join(program), done.stderr[-4000:])
    return done


def assert_cases_passed(done: subprocess.CompletedProcess, passed: int) -> None:
    """A C# test program's summary line: `passed` passed and none failed."""
    program = [line for line in done.stdout.splitlines() if line.strip() and not line.startswith("[0x")]
    assert done.returncode == 0, "\n".join(program[-60:]) + done.stderr[-4000:]
    assert program[-1] == f"{passed} passed, 0 failed", program[-60:]
