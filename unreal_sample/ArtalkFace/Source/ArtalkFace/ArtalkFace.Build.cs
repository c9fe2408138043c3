using UnrealBuildTool;

public class ArtalkFace : ModuleRules
{
	public ArtalkFace(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine" });
		// The C ABI is used from Private/ only: public headers see no third-party header at all.
		PrivateDependencyModuleNames.AddRange(new string[] { "ArtalkClient", "Projects" });
	}
}
