// The artalk native client core (clients/cpp in the artalk_service repository) as a
// prebuilt external library. Stage it into this folder with CMake's install step:
//
//   cmake --install build/clients/cpp --prefix <Plugin>/Source/ThirdParty/ArtalkClient
//
// which gives include/artalk_client.h, lib/ (libartalk_client.so / .dylib, artalk_client.lib
// on Windows) and bin/artalk_client.dll on Windows. Only the plain C header is ever
// included by the plugin; gRPC and protobuf live inside the library.
using System.IO;
using UnrealBuildTool;

public class ArtalkClient : ModuleRules
{
	public ArtalkClient(ReadOnlyTargetRules Target) : base(Target)
	{
		Type = ModuleType.External;
		string Root = ModuleDirectory;
		PublicSystemIncludePaths.Add(Path.Combine(Root, "include"));

		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			PublicAdditionalLibraries.Add(Path.Combine(Root, "lib", "artalk_client.lib"));
			PublicDelayLoadDLLs.Add("artalk_client.dll");  // loaded by FArtalkFaceModule::StartupModule
			RuntimeDependencies.Add("$(BinaryOutputDir)/artalk_client.dll", Path.Combine(Root, "bin", "artalk_client.dll"));
		}
		else if (Target.Platform == UnrealTargetPlatform.Mac)
		{
			string Dylib = Path.Combine(Root, "lib", "libartalk_client.dylib");
			PublicAdditionalLibraries.Add(Dylib);
			RuntimeDependencies.Add("$(BinaryOutputDir)/libartalk_client.dylib", Dylib);
		}
		else if (Target.Platform == UnrealTargetPlatform.Linux)
		{
			string So = Path.Combine(Root, "lib", "libartalk_client.so");
			PublicAdditionalLibraries.Add(So);
			RuntimeDependencies.Add("$(BinaryOutputDir)/libartalk_client.so", So);
		}
	}
}
