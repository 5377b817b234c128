// Runs the real command-line tools the suite drives (curl, wrk) with a hard time limit. A missing tool fails the
// test with the Debian package to install: the suite never skips silently.
using System.Diagnostics;
using System.Text;

namespace FastPath.EndToEnd.Testing;

public sealed record ToolResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

public static class ExternalTool
{
    private static readonly Dictionary<string, string> Packages = new()
    {
        ["curl"] = "curl",
        ["wrk"] = "wrk",
        ["nghttp"] = "nghttp2-client",
        ["h2load"] = "nghttp2-client",
    };

    /// <summary>The tool's full path; fails the test when it is not on PATH.</summary>
    public static string Require(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        string package = Packages.GetValueOrDefault(name, name);
        Assert.Fail($"'{name}' is not installed: the end-to-end suite needs it (apt-get install {package}).");
        return "";
    }

    public static async Task<ToolResult> RunAsync(string name, IEnumerable<string> args, TimeSpan timeout, byte[]? stdin = null)
    {
        var psi = new ProcessStartInfo(Require(name))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {name}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            if (stdin is not null)
            {
                await process.StandardInput.BaseStream.WriteAsync(stdin, cts.Token);
            }
            process.StandardInput.Close();
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"{name} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:0}s\n--- stdout ---\n{await stdout}\n--- stderr ---\n{await stderr}");
        }
        return new ToolResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Curl with the options every test wants: quiet but showing errors, and its own time limit.</summary>
    public static Task<ToolResult> CurlAsync(IEnumerable<string> args, byte[]? stdin = null, int maxSeconds = 20) =>
        RunAsync("curl", ["-sS", "--max-time", maxSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), .. args],
            TimeSpan.FromSeconds(maxSeconds + 10), stdin);

    internal static string Ascii(byte[] bytes) => Encoding.ASCII.GetString(bytes);
}
