// Loads the artalk native client core and checks its ABI version.
#pragma once

#include "Modules/ModuleInterface.h"

DECLARE_LOG_CATEGORY_EXTERN(LogArtalkFace, Log, All);

class FArtalkFaceModule : public IModuleInterface
{
public:
	virtual void StartupModule() override;
	virtual void ShutdownModule() override;

	/** True when the native library loaded and speaks the ABI this plugin was built for. */
	static bool IsClientAvailable();

private:
	void* LibraryHandle = nullptr;
};
