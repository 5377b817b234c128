// Locating the external programs a run needs, and this program itself so it can start its own origin.

using System.Reflection;

namespace FastPath.Scenarios.Runner;

internal static class Tools
{
    /// <summary>PREFERRED if it exists, else the same file name on PATH; null when neither is there.</summary>
    public static string? Resolve(string preferred)
    {
        if (File.Exists(preferred))
        {
            return preferred;
        }

        var name = Path.GetFileName(preferred);
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public static string Require(string preferred, string hint) =>
        Resolve(preferred) ?? throw new ScenarioException($"{Path.GetFileName(preferred)} not found at {preferred} or on PATH ({hint})");

    /// <summary>The dotnet host running us when there is one, so a .dll target runs on the same runtime install.</summary>
    public static string DotnetHost()
    {
        var current = Environment.ProcessPath;
        if (current is not null && IsDotnetHost(current))
        {
            return current;
        }

        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (root is not null && File.Exists(Path.Combine(root, "dotnet")))
        {
            return Path.Combine(root, "dotnet");
        }

        return Require("/usr/bin/dotnet", "install the .NET runtime");
    }

    /// <summary>How to start this program again: its apphost under `dotnet run` or from bin/, else `dotnet our.dll`.</summary>
    public static (string Command, string[] Prefix) Self()
    {
        var current = Environment.ProcessPath;
        if (current is not null && !IsDotnetHost(current))
        {
            return (current, []);
        }

        var entry = Assembly.GetEntryAssembly()?.Location;
        if (string.IsNullOrEmpty(entry))
        {
            entry = Path.Combine(AppContext.BaseDirectory, "FastPath.Scenarios.dll");
        }

        return (DotnetHost(), [entry]);
    }

    private static bool IsDotnetHost(string path) =>
        Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
}
