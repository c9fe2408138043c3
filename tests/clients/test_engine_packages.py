"""What a game developer drops into a project is complete and consistent: manifests that parse and agree,
assembly definitions, Unity .meta files, no committed binaries; the Unreal plugin (no engine here to build
it) calling only functions the native library exports, its public headers free of third-party headers,
and the CMake install step staging what its ThirdParty module reads.

What the packages' code does is tested by running it: the Unity assemblies in test_csharp_abi.py and
test_unity_components.py, the C ABI the Unreal component calls in test_cpp_core.py.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from engine_clients import BUILD_DIR, HEADER, ROOT, UNITY_PACKAGE, UNREAL_PLUGIN, header_constants, unity_assemblies

# ---------------------------------------------------------------- Unity


def test_unity_manifest_and_samples_agree():
    manifest = json.loads((UNITY_PACKAGE / "package.json").read_text())
    assert manifest["name"] == "com.artalk.face" and re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert re.fullmatch(r"20\d\d\.\d", manifest["unity"])
    listed = {s["path"] for s in manifest["samples"]}
    present = {f"Samples~/{p.name}" for p in (UNITY_PACKAGE / "Samples~").iterdir() if p.is_dir()}
    assert listed == present, "package.json samples and Samples~ folders must match"


def test_unity_assembly_definitions():
    """Runtime/Core is the engine-free assembly (noEngineReferences), the components' assembly and the
    sample's reference it by name, and every reference names an assembly of the package."""
    assemblies = unity_assemblies()
    assert set(assemblies) == {"Artalk.Face.Core", "Artalk.Face", "Artalk.Face.Samples.Basic"}
    core, runtime = assemblies["Artalk.Face.Core"], assemblies["Artalk.Face"]
    assert core.asmdef.parent == UNITY_PACKAGE / "Runtime" / "Core" and core.engine_free and core.references == []
    assert runtime.asmdef.parent == UNITY_PACKAGE / "Runtime" and not runtime.engine_free
    assert runtime.references == ["Artalk.Face.Core"]
    assert set(assemblies["Artalk.Face.Samples.Basic"].references) == {"Artalk.Face", "Artalk.Face.Core"}
    for assembly in assemblies.values():
        assert assembly.sources, f"{assembly.name} has no scripts"
        assert not assembly.definition["allowUnsafeCode"], assembly.name
        assert set(assembly.references) <= set(assemblies), assembly.name


def test_unity_meta_files():
    """Every asset outside Samples~ has a .meta with a unique GUID (git-URL installs need them)."""
    guids = {}
    for path in UNITY_PACKAGE.rglob("*"):
        rel = path.relative_to(UNITY_PACKAGE)
        if any(part.endswith("~") for part in rel.parts) or path.suffix == ".meta":
            continue
        meta = path.with_name(path.name + ".meta")
        assert meta.exists(), f"{rel} has no .meta"
        guid = re.search(r"^guid: ([0-9a-f]{32})$", meta.read_text(), re.M).group(1)
        assert guid not in guids, f"{rel} and {guids.get(guid)} share a GUID"
        guids[guid] = rel
        assert ("folderAsset: yes" in meta.read_text()) == path.is_dir(), f"{meta.name}: folderAsset"
    for meta in UNITY_PACKAGE.rglob("*.meta"):
        assert meta.with_name(meta.name[:-5]).exists(), f"orphan {meta}"


def test_no_native_binaries_are_committed_or_committable():
    would_be = [
        "unity_sample/com.artalk.face/Plugins/Linux/x86_64/libartalk_client.so",
        "unity_sample/com.artalk.face/Plugins/Windows/x86_64/artalk_client.dll",
        "unreal_sample/ArtalkFace/Binaries/Win64/artalk_client.dll",
        "unreal_sample/ArtalkFace/Intermediate/Build/x.obj",
        "unreal_sample/ArtalkFace/Source/ThirdParty/ArtalkClient/lib/libartalk_client.so",
        "build/clients/cpp/libartalk_client.so",
    ]
    done = subprocess.run(["git", "check-ignore", "--no-index", *would_be], cwd=ROOT, capture_output=True, text=True)
    assert sorted(done.stdout.split()) == sorted(would_be)
    tracked = subprocess.run(
        ["git", "ls-files", "unity_sample", "unreal_sample", "clients"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    assert not [t for t in tracked if t.endswith((".so", ".dll", ".dylib", ".lib", ".a", ".o"))]


# ---------------------------------------------------------------- Unreal


def unreal_sources() -> dict[str, str]:
    return {
        str(p.relative_to(UNREAL_PLUGIN)): p.read_text()
        for p in sorted((UNREAL_PLUGIN / "Source" / "ArtalkFace").rglob("*"))
        if p.suffix in (".h", ".cpp")
    }


def test_uplugin_modules_exist():
    plugin = json.loads((UNREAL_PLUGIN / "ArtalkFace.uplugin").read_text())
    assert plugin["FileVersion"] == 3
    for module in plugin["Modules"]:
        assert module["Type"] == "Runtime"
        assert (UNREAL_PLUGIN / "Source" / module["Name"] / f"{module['Name']}.Build.cs").exists()


def test_unreal_plugin_calls_only_exported_functions(c_abi):
    """Every artalk_* function the plugin calls is one libartalk_client.so exports, and every ARTALK_*
    constant it names is defined by artalk_client.h, so what the C ABI tests prove is what it links to."""
    text = "\n".join(unreal_sources().values())
    called = set(re.findall(r"\b(artalk_\w+)\s*\(", text))
    assert {"artalk_config_create", "artalk_session_open", "artalk_session_sample", "artalk_session_close"} <= called
    assert called <= c_abi, f"not exported: {sorted(called - c_abi)}"
    constants = set(re.findall(r"\bARTALK_\w+", text))
    assert constants and constants <= header_constants(), f"not in artalk_client.h: {constants - header_constants()}"


def test_unreal_public_headers_carry_no_third_party_headers():
    public = list((UNREAL_PLUGIN / "Source" / "ArtalkFace" / "Public").glob("*.h"))
    assert public
    for header in public:
        includes = re.findall(r'#include\s+[<"]([^>"]+)', header.read_text())
        bad = [i for i in includes if re.search(r"grpc|protobuf|google/|artalk_client\.h|absl", i)]
        assert not bad, f"{header.name} includes {bad}"


def test_unreal_module_depends_on_the_core_privately():
    """The C core is an External module that only the plugin's Private/ code sees."""
    runtime = (UNREAL_PLUGIN / "Source" / "ArtalkFace" / "ArtalkFace.Build.cs").read_text()
    private = re.search(r"PrivateDependencyModuleNames\.AddRange\(([^;]+)\);", runtime).group(1)
    public = re.search(r"PublicDependencyModuleNames\.AddRange\(([^;]+)\);", runtime).group(1)
    assert '"ArtalkClient"' in private and "ArtalkClient" not in public
    third = (UNREAL_PLUGIN / "Source" / "ThirdParty" / "ArtalkClient" / "ArtalkClient.Build.cs").read_text()
    assert "ModuleType.External" in third
    including = [name for name, text in unreal_sources().items() if '#include "artalk_client.h"' in text]
    assert including and all(name.startswith("Source/ArtalkFace/Private/") for name in including), including


def test_cmake_install_stages_what_the_plugin_expects(cpp_build, tmp_path):
    """`cmake --install` gives include/artalk_client.h and lib/libartalk_client.so, as ArtalkClient.Build.cs reads."""
    subprocess.run(["cmake", "--install", str(BUILD_DIR), "--prefix", str(tmp_path)], check=True, capture_output=True)
    assert (tmp_path / "include" / "artalk_client.h").read_text() == HEADER.read_text()
    assert (tmp_path / "lib" / "libartalk_client.so").is_file()
    third = (UNREAL_PLUGIN / "Source" / "ThirdParty" / "ArtalkClient" / "ArtalkClient.Build.cs").read_text()
    assert '"include"' in third and '"libartalk_client.so"' in third and '"artalk_client.dll"' in third


@pytest.mark.parametrize(
    "doc",
    [
        "docs/clients.md",
        "clients/cpp/README.md",
        "unity_sample/com.artalk.face/README.md",
        "unreal_sample/ArtalkFace/README.md",
    ],
)
def test_docs_exist(doc):
    assert len((ROOT / doc).read_text()) > 500
