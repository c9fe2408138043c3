"""The Unity package and the Unreal plugin are complete and consistent (they cannot be built here).

Checks what a game developer drops into a project: manifests, assembly definitions,
Unity .meta files, no committed binaries, the P/Invoke declarations covering the whole
C ABI, no third-party header in the plugin's public headers, and the CMake install step
staging exactly the files the plugin's ThirdParty module expects.
"""
from __future__ import annotations

import json
import re
import subprocess

import pytest
from engine_clients import BUILD_DIR, CPP_SOURCE, ROOT, UNITY_PACKAGE, UNREAL_PLUGIN

HEADER = CPP_SOURCE / "include" / "artalk_client.h"


def c_abi_functions() -> set[str]:
    return set(re.findall(r"ARTALK_CALL (artalk_\w+)\(", HEADER.read_text()))


# ---------------------------------------------------------------- Unity


def test_unity_manifest_and_samples_agree():
    manifest = json.loads((UNITY_PACKAGE / "package.json").read_text())
    assert manifest["name"] == "com.artalk.face" and re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert re.fullmatch(r"20\d\d\.\d", manifest["unity"])
    listed = {s["path"] for s in manifest["samples"]}
    present = {f"Samples~/{p.name}" for p in (UNITY_PACKAGE / "Samples~").iterdir() if p.is_dir()}
    assert listed == present, "package.json samples and Samples~ folders must match"


def test_unity_assembly_definitions():
    runtime = json.loads((UNITY_PACKAGE / "Runtime" / "Artalk.Face.asmdef").read_text())
    assert runtime["name"] == "Artalk.Face" and not runtime["allowUnsafeCode"]
    for asmdef in (UNITY_PACKAGE / "Samples~").rglob("*.asmdef"):
        assert "Artalk.Face" in json.loads(asmdef.read_text())["references"], asmdef


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
    for meta in UNITY_PACKAGE.rglob("*.meta"):
        assert meta.with_name(meta.name[:-5]).exists(), f"orphan {meta}"


def test_pinvoke_covers_the_whole_c_abi():
    source = (UNITY_PACKAGE / "Runtime" / "ArtalkNative.cs").read_text()
    declared = set(re.findall(r"static extern \S+ (artalk_\w+)\(", source))
    assert declared == c_abi_functions()
    assert all(lib == "Library" for lib in re.findall(r"\[DllImport\((\w+)", source))


def test_no_native_binaries_are_committed_or_committable():
    would_be = ["unity_sample/com.artalk.face/Plugins/Linux/x86_64/libartalk_client.so",
                "unity_sample/com.artalk.face/Plugins/Windows/x86_64/artalk_client.dll",
                "unreal_sample/ArtalkFace/Binaries/Win64/artalk_client.dll",
                "unreal_sample/ArtalkFace/Intermediate/Build/x.obj",
                "unreal_sample/ArtalkFace/Source/ThirdParty/ArtalkClient/lib/libartalk_client.so",
                "build/clients/cpp/libartalk_client.so"]
    done = subprocess.run(["git", "check-ignore", "--no-index", *would_be], cwd=ROOT, capture_output=True, text=True)
    assert sorted(done.stdout.split()) == sorted(would_be)
    tracked = subprocess.run(["git", "ls-files", "unity_sample", "unreal_sample", "clients"], cwd=ROOT,
                             capture_output=True, text=True).stdout.split()
    assert not [t for t in tracked if t.endswith((".so", ".dll", ".dylib", ".lib", ".a", ".o"))]


def test_engine_wrappers_expose_and_pass_every_security_setting():
    """The Unity streamer and the Unreal component (neither can run here) take the TLS files, the server
    name and the token, and hand them to the C functions that the live C# and C++ tests exercise."""
    streamer = (UNITY_PACKAGE / "Runtime" / "ArtalkAudioStreamer.cs").read_text()
    for field, option in [("useTls", "UseTls"), ("tlsCaFile", "TlsCaFile"), ("tlsCertFile", "TlsCertFile"),
                          ("tlsKeyFile", "TlsKeyFile"), ("tlsServerName", "TlsServerName"), ("token", "Token")]:
        assert re.search(rf"public (bool|string) {field}\b", streamer), field
        assert re.search(rf"\b{option} = (UnderStreamingAssets\()?{field}\b", streamer), option
    header = (UNREAL_PLUGIN / "Source" / "ArtalkFace" / "Public" / "ArtalkFaceComponent.h").read_text()
    for prop in ["bUseTls", "TlsCaFile", "TlsCertFile", "TlsKeyFile", "TlsServerName", "Token"]:
        assert re.search(rf'UPROPERTY\([^\n]*Category = "Artalk\|Security"[^\n]*\)\s+(bool|FString) {prop}\b', header), prop
    component = (UNREAL_PLUGIN / "Source" / "ArtalkFace" / "Private" / "ArtalkFaceComponent.cpp").read_text()
    assert re.search(r"artalk_config_set_tls\(Config, TCHAR_TO_UTF8\(\*Ca\), TCHAR_TO_UTF8\(\*Cert\), TCHAR_TO_UTF8\(\*Key\)\)",
                     component)
    assert "artalk_config_set_tls_server_name(Config, TCHAR_TO_UTF8(*TlsServerName))" in component
    assert "artalk_config_set_token(Config, TCHAR_TO_UTF8(*Token))" in component


def test_engine_wrappers_pass_the_guidance():
    """Both engine components expose SessionConfig.guidance (0 = the model's default) and hand it
    to artalk_config_set_guidance, which the live C# and C++ tests exercise."""
    streamer = (UNITY_PACKAGE / "Runtime" / "ArtalkAudioStreamer.cs").read_text()
    assert re.search(r"public float guidance = 0f;", streamer) and "Guidance = guidance" in streamer
    session = (UNITY_PACKAGE / "Runtime" / "ArtalkSession.cs").read_text()
    assert "artalk_config_set_guidance(config, o.Guidance)" in session
    header = (UNREAL_PLUGIN / "Source" / "ArtalkFace" / "Public" / "ArtalkFaceComponent.h").read_text()
    assert re.search(r'UPROPERTY\([^\n]*Category = "Artalk\|Service"[^\n]*\)\s+float Guidance = 0\.0f;', header)
    component = (UNREAL_PLUGIN / "Source" / "ArtalkFace" / "Private" / "ArtalkFaceComponent.cpp").read_text()
    assert "artalk_config_set_guidance(Config, Guidance) == ARTALK_OK" in component


# ---------------------------------------------------------------- Unreal


def test_uplugin_modules_exist():
    plugin = json.loads((UNREAL_PLUGIN / "ArtalkFace.uplugin").read_text())
    assert plugin["FileVersion"] == 3
    for module in plugin["Modules"]:
        assert module["Type"] == "Runtime"
        assert (UNREAL_PLUGIN / "Source" / module["Name"] / f"{module['Name']}.Build.cs").exists()


def test_unreal_public_headers_carry_no_third_party_headers():
    public = list((UNREAL_PLUGIN / "Source" / "ArtalkFace" / "Public").glob("*.h"))
    assert public
    for header in public:
        includes = re.findall(r'#include\s+[<"]([^>"]+)', header.read_text())
        bad = [i for i in includes if re.search(r"grpc|protobuf|google/|artalk_client\.h|absl", i)]
        assert not bad, f"{header.name} includes {bad}"


def test_unreal_build_rules():
    runtime = (UNREAL_PLUGIN / "Source" / "ArtalkFace" / "ArtalkFace.Build.cs").read_text()
    private = re.search(r"PrivateDependencyModuleNames\.AddRange\(([^;]+)\);", runtime).group(1)
    public = re.search(r"PublicDependencyModuleNames\.AddRange\(([^;]+)\);", runtime).group(1)
    assert '"ArtalkClient"' in private and "ArtalkClient" not in public
    third = (UNREAL_PLUGIN / "Source" / "ThirdParty" / "ArtalkClient" / "ArtalkClient.Build.cs").read_text()
    assert "ModuleType.External" in third


def test_cmake_install_stages_what_the_plugin_expects(cpp_build, tmp_path):
    """`cmake --install` gives include/artalk_client.h and lib/libartalk_client.so, as ArtalkClient.Build.cs reads."""
    subprocess.run(["cmake", "--install", str(BUILD_DIR), "--prefix", str(tmp_path)], check=True, capture_output=True)
    assert (tmp_path / "include" / "artalk_client.h").read_text() == HEADER.read_text()
    assert (tmp_path / "lib" / "libartalk_client.so").is_file()
    third = (UNREAL_PLUGIN / "Source" / "ThirdParty" / "ArtalkClient" / "ArtalkClient.Build.cs").read_text()
    assert '"include"' in third and '"libartalk_client.so"' in third and '"artalk_client.dll"' in third


@pytest.mark.parametrize("doc", ["docs/clients.md", "clients/cpp/README.md", "unity_sample/com.artalk.face/README.md",
                                 "unreal_sample/ArtalkFace/README.md"])
def test_docs_exist(doc):
    assert len((ROOT / doc).read_text()) > 500
