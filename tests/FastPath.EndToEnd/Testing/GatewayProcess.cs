// Runs fastpath-gateway as a real child process (dotnet fastpath-gateway.dll): writes its YAML to a temp directory,
// picks free ports, waits for /ready, captures stdout and stderr, sends signals, samples its RSS, and kills it on
// dispose or when its lifetime runs out, so no gateway outlives its test.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace FastPath.EndToEnd.Testing;

public sealed partial class GatewayProcess : IAsyncDisposable
{
    public const int SIGHUP = 1;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    /// <summary>A gateway is killed after this long whatever happens (tests have 60 s timeouts; fixtures pass longer).</summary>
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromSeconds(100);

    private static readonly ConcurrentDictionary<int, Process> Live = new();
    private static readonly HttpClient AdminClient = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(5) })
    {
        Timeout = TimeSpan.FromSeconds(10),
    };

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Timer _watchdog;

    static GatewayProcess()
    {
        // Last resort: a test host that exits (or is killed by a timeout) takes its gateways with it.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (Process p in Live.Values)
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            }
        };
    }

    private GatewayProcess(Process process, string directory, TimeSpan lifetime)
    {
        _process = process;
        Directory = directory;
        process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Live[process.Id] = process;
        _watchdog = new Timer(_ => Kill(), null, lifetime, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The gateway assembly built by the project reference (path recorded at build time).</summary>
    public static string GatewayDll
    {
        get
        {
            string? path = typeof(GatewayProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "FastPathGatewayDll")?.Value;
            if (path is null || !File.Exists(path))
                Assert.Fail($"fastpath-gateway.dll not found at '{path}': build hosts/FastPath.Gateway (the test project references it).");
            return path!;
        }
    }

    private static string DotnetHost
    {
        get
        {
            string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
            string? self = Environment.ProcessPath;
            if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet") return self;
            return "dotnet";
        }
    }

    public string Directory { get; }
    public int Pid => _process.Id;
    public int Port { get; private set; }
    public IPEndPoint? Admin { get; private set; }
    public string? ConfigPath { get; private set; }
    public GatewayYaml? Config { get; private set; }
    public string AccessLogPath => Path.Combine(Directory, "access.log");
    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }
    public bool HasExited => _process.HasExited;

    /// <summary>Starts the gateway on a YAML config; the listener gets a free port (retried if it is taken meanwhile).</summary>
    /// <param name="accessLog">Adds --access-log DIR/access.log (see <see cref="AccessLogPath"/>).</param>
    /// <param name="launcher">A command the gateway is run under (its arguments, then the gateway's command line).</param>
    public static async Task<GatewayProcess> StartAsync(GatewayYaml config, bool accessLog = false, IEnumerable<string>? extraArgs = null,
        TimeSpan? lifetime = null, IReadOnlyList<string>? launcher = null)
    {
        string lastError = "";
        for (int attempt = 0; attempt < 3; attempt++)
        {
            string dir = CreateTempDirectory();
            config.ListenPort = Ports.GetFree();
            string path = Path.Combine(dir, "gateway.yaml");
            await File.WriteAllTextAsync(path, config.Render());
            string[] args = ["--config", path, .. accessLog ? new[] { "--access-log", Path.Combine(dir, "access.log") } : [], .. extraArgs ?? []];
            GatewayProcess g = Launch(args, dir, lifetime, launcher);
            g.ConfigPath = path;
            g.Config = config;
            g.Port = config.ListenPort;
            if (await g.WaitReadyAsync()) return g;
            lastError = $"exit {(g.HasExited ? g._process.ExitCode : -1)}\n{g.Stderr}";
            await g.DisposeAsync();
            if (!lastError.Contains("cannot start", StringComparison.Ordinal)) break;
        }
        Assert.Fail($"gateway did not become ready:\n{lastError}");
        return null!;
    }

    /// <summary>Quick mode: --listen 127.0.0.1:FREE --upstream a,b --admin 127.0.0.1:0.</summary>
    public static async Task<GatewayProcess> StartQuickAsync(IEnumerable<string> upstreams, IEnumerable<string>? extraArgs = null)
    {
        string lastError = "";
        for (int attempt = 0; attempt < 3; attempt++)
        {
            string dir = CreateTempDirectory();
            int port = Ports.GetFree();
            GatewayProcess g = Launch(["--listen", $"127.0.0.1:{port}", "--upstream", string.Join(',', upstreams), "--admin", "127.0.0.1:0",
                .. extraArgs ?? []], dir, null);
            g.Port = port;
            if (await g.WaitReadyAsync()) return g;
            lastError = $"exit {(g.HasExited ? g._process.ExitCode : -1)}\n{g.Stderr}";
            await g.DisposeAsync();
            if (!lastError.Contains("cannot start", StringComparison.Ordinal)) break;
        }
        Assert.Fail($"gateway (quick mode) did not become ready:\n{lastError}");
        return null!;
    }

    /// <summary>Runs the gateway with arguments that should make it exit (bad config, --check, --help).</summary>
    public static async Task<ToolResult> RunToExitAsync(IEnumerable<string> args, TimeSpan timeout)
    {
        await using GatewayProcess g = Launch(args, CreateTempDirectory(), timeout + TimeSpan.FromSeconds(5));
        int? code = await g.WaitForExitAsync(timeout);
        if (code is null) Assert.Fail($"gateway did not exit within {timeout.TotalSeconds:0}s\n{g.Stderr}");
        return new ToolResult(code!.Value, g.Stdout, g.Stderr);
    }

    private static GatewayProcess Launch(IEnumerable<string> args, string dir, TimeSpan? lifetime, IReadOnlyList<string>? launcher = null)
    {
        var psi = new ProcessStartInfo(launcher is { Count: > 0 } ? launcher[0] : DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            WorkingDirectory = dir,
        };
        if (launcher is { Count: > 0 })
        {
            foreach (string a in launcher.Skip(1)) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add(DotnetHost);
        }
        psi.ArgumentList.Add(GatewayDll);
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        Process process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start the gateway");
        return new GatewayProcess(process, dir, lifetime ?? DefaultLifetime);
    }

    private static string CreateTempDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "fastpath-e2e", Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(dir);
        return dir;
    }

    [GeneratedRegex(@"admin on http://(?<ep>[0-9.]+:\d+)")]
    private static partial Regex AdminLine();

    /// <summary>Waits for the admin start-up line, then for /ready to answer 200; false if the process exits first.</summary>
    private async Task<bool> WaitReadyAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (_process.HasExited)
            {
                _process.WaitForExit(); // flush the redirected streams
                return false;
            }
            if (Admin is null && AdminLine().Match(Stderr) is { Success: true } m) Admin = IPEndPoint.Parse(m.Groups["ep"].Value);
            if (Admin is not null)
            {
                try
                {
                    using HttpResponseMessage r = await AdminClient.GetAsync(AdminUrl("/ready"));
                    if (r.StatusCode == HttpStatusCode.OK) return true;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                }
            }
            await Task.Delay(50);
        }
        return false;
    }

    public Uri Url(string path) => new($"http://127.0.0.1:{Port}{path}");

    public Uri AdminUrl(string path) => new($"http://{Admin}{path}");

    public async Task<(HttpStatusCode Status, string Body)> AdminGetAsync(string path)
    {
        using HttpResponseMessage r = await AdminClient.GetAsync(AdminUrl(path));
        return (r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    public async Task<(HttpStatusCode Status, string Body)> AdminPostAsync(string path)
    {
        using HttpResponseMessage r = await AdminClient.PostAsync(AdminUrl(path), null);
        return (r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    /// <summary>The "version" of the live config from /config_dump.</summary>
    public async Task<long> ConfigVersionAsync()
    {
        (_, string body) = await AdminGetAsync("/config_dump");
        using JsonDocument doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("version").GetInt64();
    }

    /// <summary>Rewrites the config file in place (same listener port), as an operator's editor would.</summary>
    /// <summary>Replaces the config file atomically (a new file renamed over it, as deploy tools and Kubernetes'
    /// ConfigMap updates do): the watcher never reads a half-written file, which a loaded machine could otherwise show
    /// it between the truncation and the write.</summary>
    public void RewriteConfig(string yaml)
    {
        string path = ConfigPath ?? throw new InvalidOperationException("no config file");
        string next = path + ".next";
        File.WriteAllText(next, yaml);
        File.Move(next, path, overwrite: true);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);

    public void Signal(int signal)
    {
        if (SysKill(Pid, signal) != 0) Assert.Fail($"kill({Pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>The exit code, or null if the process is still running after the timeout.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        _process.WaitForExit(); // lets the redirected-output readers finish
        return _process.ExitCode;
    }

    /// <summary>Resident set size from /proc/PID/status (VmRSS), or null once the process is gone.</summary>
    public long? ReadRssBytes()
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (!line.StartsWith("VmRSS:", StringComparison.Ordinal)) continue;
                string kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    /// <summary>Access-log JSON lines (the file is written in the background: poll until predicate matches).</summary>
    public async Task<JsonElement> WaitForAccessLogAsync(Func<JsonElement, bool> predicate, TimeSpan? timeout = null)
    {
        var sw = Stopwatch.StartNew();
        TimeSpan limit = timeout ?? TimeSpan.FromSeconds(10);
        string text = "";
        while (sw.Elapsed < limit)
        {
            if (File.Exists(AccessLogPath))
            {
                using (var fs = new FileStream(AccessLogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                using (var reader = new StreamReader(fs))
                    text = await reader.ReadToEndAsync();
                foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    using JsonDocument doc = JsonDocument.Parse(line);
                    if (predicate(doc.RootElement)) return doc.RootElement.Clone();
                }
            }
            await Task.Delay(50);
        }
        Assert.Fail($"no matching access-log line within {limit.TotalSeconds:0}s in {AccessLogPath}:\n{text}");
        return default;
    }

    /// <summary>
    /// Waits (up to 10 s) until stdout or stderr holds <paramref name="text"/>. The gateway logs through a background
    /// queue, so a line about an event can arrive after the event shows in /stats or /clusters; callers assert after.
    /// </summary>
    public async Task WaitForOutputAsync(string text, StringComparison comparison = StringComparison.Ordinal)
    {
        for (long deadline = Environment.TickCount64 + 10_000; Environment.TickCount64 < deadline; await Task.Delay(50))
            if ((Stdout + Stderr).Contains(text, comparison)) return;
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }

    private static void Append(StringBuilder to, string? line)
    {
        if (line is null) return;
        lock (to) to.Append(line).Append('\n');
    }

    public async ValueTask DisposeAsync()
    {
        await _watchdog.DisposeAsync();
        Kill();
        await WaitForExitAsync(TimeSpan.FromSeconds(10));
        Live.TryRemove(_process.Id, out _);
        _process.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
