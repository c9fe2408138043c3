#include "ArtalkFaceModule.h"

#include "HAL/PlatformProcess.h"
#include "Interfaces/IPluginManager.h"
#include "Misc/Paths.h"
#include "Modules/ModuleManager.h"

#include "artalk_client.h"

DEFINE_LOG_CATEGORY(LogArtalkFace);

namespace
{
	bool GClientAvailable = false;
}

void FArtalkFaceModule::StartupModule()
{
#if PLATFORM_WINDOWS
	// artalk_client.dll is delay-loaded (ArtalkClient.Build.cs): load it from the plugin's binaries.
	const TSharedPtr<IPlugin> Plugin = IPluginManager::Get().FindPlugin(TEXT("ArtalkFace"));
	const FString Dll = Plugin.IsValid()
		? FPaths::Combine(Plugin->GetBaseDir(), TEXT("Binaries/Win64/artalk_client.dll"))
		: FString(TEXT("artalk_client.dll"));
	LibraryHandle = FPlatformProcess::GetDllHandle(*Dll);
	if (!LibraryHandle)
	{
		UE_LOG(LogArtalkFace, Error, TEXT("Artalk: cannot load %s; build and stage the native client (plugin README)"), *Dll);
		return;
	}
#endif
	const int Abi = artalk_abi_version();
	GClientAvailable = Abi == ARTALK_ABI_VERSION;
	if (GClientAvailable)
	{
		UE_LOG(LogArtalkFace, Log, TEXT("Artalk native client %s"), UTF8_TO_TCHAR(artalk_version()));
	}
	else
	{
		UE_LOG(LogArtalkFace, Error, TEXT("Artalk native client has ABI %d; this plugin needs %d: rebuild it"), Abi,
			ARTALK_ABI_VERSION);
	}
}

void FArtalkFaceModule::ShutdownModule()
{
	GClientAvailable = false;
	if (LibraryHandle)
	{
		FPlatformProcess::FreeDllHandle(LibraryHandle);
		LibraryHandle = nullptr;
	}
}

bool FArtalkFaceModule::IsClientAvailable()
{
	return GClientAvailable;
}

IMPLEMENT_MODULE(FArtalkFaceModule, ArtalkFace)
