"""Shared helpers of the engine-client tests: paths, the CMake build of the native core, its environment.

The build goes to build/clients/cpp (ignored by git) and is kept between runs, so a warm
run only checks that nothing changed. It runs at low priority on two jobs, one build at a
time (a file lock), because the machine's cores are shared.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CPP_SOURCE = ROOT / "clients" / "cpp"
BUILD_DIR = ROOT / "build" / "clients" / "cpp"
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
    missing = [tool for tool in ("cmake", "pkg-config", "protoc", "grpc_cpp_plugin", "c++") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"missing build tools {missing}: run scripts/setup.sh (APT_CLIENTS)")
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with open(BUILD_DIR.parent / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time, even across pytest processes
        if not (BUILD_DIR / "CMakeCache.txt").exists():
            _run_build("cmake", "-S", str(CPP_SOURCE), "-B", str(BUILD_DIR), "-DCMAKE_BUILD_TYPE=Release")
        _run_build("cmake", "--build", str(BUILD_DIR), "-j2")
    return CppBuild(BUILD_DIR, BUILD_DIR / "libartalk_client.so", BUILD_DIR / "artalk_cli", BUILD_DIR / "artalk_core_tests")


def library_env(build: CppBuild) -> dict[str, str]:
    """Environment that lets a process find libartalk_client.so."""
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(build.dir), env.get("LD_LIBRARY_PATH", "")]))
    return env
