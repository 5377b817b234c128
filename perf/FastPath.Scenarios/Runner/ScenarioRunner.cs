// Orchestrates one `run`: start the origin and every proxy, measure each scenario round robin over targets,
// write the reports and apply the throughput gate. Every child is killed on every exit path.

using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Runtime.InteropServices;

namespace FastPath.Scenarios.Runner;

/// <summary>Something wrk can load: its port, the process charged for CPU and RSS, FastPath's admin port, and the
/// Host field wrk sends (null: wrk's default).</summary>
internal sealed record Target(string Name, int Port, ChildProcess Process, int? AdminPort, string? Host = null);

internal static class ScenarioRunner
{
    public const string OriginTarget = "origin";
    public const string FastPathTarget = "fastpath";
    public const string RoutedTarget = "fastpath-routed";

    // Proxies get core 0 to themselves; the origin and wrk share core 1, so the load generator never
    // steals cycles from the proxy being measured.
    internal const int ProxyCore = 0;
    internal const int OriginCore = 1;
    internal const int SmallBodyBytes = 64;
    private const int WarmUpSeconds = 2;
    private const string AllocatedMetric = "fastpath_gc_allocated_bytes_total";

    private static readonly TimeSpan GatewayReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(15);

    public static Task<int> RunAsync(RunOptions options) =>
        RunInWorkDirectoryAsync("fastpath-scenarios-", (work, cancellationToken) => RunCoreAsync(options, work, cancellationToken));

    /// <summary>
    /// Runs a subcommand's body in a fresh temp directory and tears everything down on every exit path: every child
    /// process killed, the directory removed. SIGINT/SIGTERM cancel the body (exit 130) instead of killing the
    /// runner, so the teardown still runs.
    /// </summary>
    internal static async Task<int> RunInWorkDirectoryAsync(string prefix, Func<string, CancellationToken, Task<int>> body)
    {
        using var stop = new CancellationTokenSource();
        // Cancel instead of dying, so the finally below kills the children; ProcessExit is the backstop for
        // any other orderly exit of the runtime.
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ChildProcess.KillAll();

        var work = Directory.CreateTempSubdirectory(prefix);
        try
        {
            return await body(work.FullName, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Console.Error.WriteLine("interrupted; stopping every child process");
            return 130;
        }
        finally
        {
            ChildProcess.KillAll();
            try
            {
                work.Delete(recursive: true);
            }
            catch (IOException ex)
            {
                Console.Error.WriteLine($"warning: could not remove {work.FullName}: {ex.Message}");
            }
        }

        void Cancel(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    private static async Task<int> RunCoreAsync(RunOptions options, string work, CancellationToken cancellationToken)
    {
        Tools.Require("/usr/bin/taskset", "apt-get install util-linux");
        Tools.Require(Wrk.Path, "apt-get install wrk");
        if (!File.Exists(options.GatewayPath))
        {
            throw new ScenarioException($"gateway not found: {options.GatewayPath}");
        }

        foreach (var peer in options.Peers)
        {
            Tools.Require(Peers.ExecutableFor(peer), $"apt-get install {(peer == RunOptions.Nginx ? "nginx-light" : peer)}, or leave it out of --peers");
        }

        // No proxy: a machine-wide http_proxy must never route loopback probes elsewhere.
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(2) })
        {
            Timeout = TimeSpan.FromSeconds(5),
        };

        var startLoad = LoadAverage();
        var targets = new List<Target>();
        var originPort = FreePort();
        var (self, selfPrefix) = Tools.Self();
        var origin = ChildProcess.StartPinned(
            OriginTarget, OriginCore, self, [.. selfPrefix, "origin", "--port", Text(originPort), "--body", Text(SmallBodyBytes)]);
        await WaitFor200Async(http, $"http://127.0.0.1:{originPort}/small", origin, ReadyTimeout, cancellationToken);
        targets.Add(new Target(OriginTarget, originPort, origin, null));

        targets.Add(await StartGatewayAsync(options, http, originPort, cancellationToken));
        if (options.BaselinePath is { } baselinePath)
        {
            // Another FastPath build (a release, main before a change) in quick mode like the first, same repeats.
            if (!File.Exists(baselinePath)) throw new ScenarioException($"baseline gateway not found: {baselinePath}");
            (ChildProcess baseline, int port, int admin) = await StartGatewayProcessAsync(
                baselinePath, originPort, ProxyCore, http, cancellationToken, RunOptions.BaselineTarget);
            await WaitFor200Async(http, $"http://127.0.0.1:{port}/small", baseline, ReadyTimeout, cancellationToken);
            targets.Add(new Target(RunOptions.BaselineTarget, port, baseline, admin));
        }

        if (options.Routed)
        {
            targets.Add(await StartRoutedGatewayAsync(options, work, http, originPort, cancellationToken));
        }

        foreach (var peer in options.Peers)
        {
            var port = FreePort();
            var process = Peers.Start(peer, work, port, originPort, ProxyCore, options.PeerForwarding);
            await WaitFor200Async(http, $"http://127.0.0.1:{port}/small", process, ReadyTimeout, cancellationToken);
            await CheckForwardingAsync(peer, $"http://127.0.0.1:{port}", Peers.ForwardingFields(peer, options.PeerForwarding), cancellationToken);
            targets.Add(new Target(peer, port, process, null));
        }

        var results = new List<TargetResult>();
        foreach (var scenario in options.Scenarios)
        {
            results.AddRange(await RunScenarioAsync(options, scenario, targets, http, cancellationToken));
        }

        var environment = await DescribeEnvironmentAsync(options, startLoad, cancellationToken);
        var markdown = Report.ToMarkdown(options, results, environment);
        Directory.CreateDirectory(options.OutDirectory);
        await File.WriteAllTextAsync(Path.Combine(options.OutDirectory, "results.json"), Report.ToJson(results), CancellationToken.None);
        await File.WriteAllTextAsync(Path.Combine(options.OutDirectory, "results.md"), markdown, CancellationToken.None);
        CopyPeerConfigs(work, options.OutDirectory);
        Console.WriteLine(markdown);
        Console.Error.WriteLine($"wrote {Path.Combine(options.OutDirectory, "results.json")} and results.md");

        return Gate(options, results);
    }

    private static async Task<Target> StartGatewayAsync(RunOptions options, HttpClient http, int originPort, CancellationToken cancellationToken)
    {
        (ChildProcess gateway, int port, int admin) = await StartGatewayProcessAsync(options.GatewayPath, originPort, ProxyCore, http, cancellationToken);
        // Ready is the gateway's own claim; a proxied request proves the route to the origin works too.
        await WaitFor200Async(http, $"http://127.0.0.1:{port}/small", gateway, ReadyTimeout, cancellationToken);
        await CheckForwardingAsync(FastPathTarget, $"http://127.0.0.1:{port}", Origin.OriginOptions.ForwardingFields, cancellationToken);
        return new Target(FastPathTarget, port, gateway, admin);
    }

    private static async Task<Target> StartRoutedGatewayAsync(
        RunOptions options, string work, HttpClient http, int originPort, CancellationToken cancellationToken)
    {
        var port = FreePort();
        var admin = FreePort();
        var config = Path.Combine(work, "routed.yaml");
        await File.WriteAllTextAsync(config, RoutedConfig.Yaml(port, admin, originPort), cancellationToken);
        var gateway = await StartGatewayProcessAsync(options.GatewayPath, ["--config", config], admin, ProxyCore, RoutedTarget, http, cancellationToken);
        using var probe = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/small");
        probe.Headers.Host = RoutedConfig.Host;
        using var response = await http.SendAsync(probe, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new ScenarioException($"{RoutedTarget} answered {(int)response.StatusCode} for Host {RoutedConfig.Host}:{Environment.NewLine}{gateway.Tail()}");
        }

        return new Target(RoutedTarget, port, gateway, admin, RoutedConfig.Host);
    }

    /// <summary>
    /// Starts the gateway in quick mode in front of the origin (pinned to CORE when given) and waits for /ready.
    /// A .dll is run with dotnet. <paramref name="name"/> names it in progress and errors.
    /// </summary>
    internal static async Task<(ChildProcess Gateway, int Port, int AdminPort)> StartGatewayProcessAsync(
        string gatewayPath, int originPort, int? core, HttpClient http, CancellationToken cancellationToken, string name = FastPathTarget)
    {
        var port = FreePort();
        var admin = FreePort();
        string[] quickMode = ["--listen", $"127.0.0.1:{port}", "--upstream", $"127.0.0.1:{originPort}", "--admin", $"127.0.0.1:{admin}"];
        var gateway = await StartGatewayProcessAsync(gatewayPath, quickMode, admin, core, name, http, cancellationToken);
        return (gateway, port, admin);
    }

    /// <summary>Starts the gateway with these arguments (pinned to CORE when given) and waits for /ready on ADMIN.</summary>
    internal static async Task<ChildProcess> StartGatewayProcessAsync(
        string gatewayPath, string[] gatewayArgs, int admin, int? core, string name, HttpClient http, CancellationToken cancellationToken)
    {
        var isDll = gatewayPath.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var command = isDll ? Tools.DotnetHost() : gatewayPath;
        var args = new List<string>();
        if (isDll)
        {
            args.Add(gatewayPath);
        }

        args.AddRange(gatewayArgs);

        // Workstation GC matches the one core the gateway gets; a gen0 budget inherited from the shell would
        // make the numbers depend on who ran them, so it is removed rather than set. On one core the runtime waits
        // 10x longer (1 s) after the last new tier-0 method before counting calls for tier 1, so a loaded gateway
        // ran unoptimised code for its first 12-20 s (measured: 40 -> 25 CPU-us per h2 request over 24 s); with no
        // delay it is at steady state within 4-8 s. A JIT deployment on one CPU wants the same setting (the
        // container image is Native AOT and has no warm-up at all).
        var environment = new Dictionary<string, string?>
        {
            ["DOTNET_gcServer"] = "0",
            ["DOTNET_TieredPGO"] = "1",
            ["DOTNET_TC_CallCountingDelayMs"] = "0",
            ["DOTNET_GCgen0size"] = null,
            ["COMPlus_GCgen0size"] = null,
        };
        var gateway = core is int c
            ? ChildProcess.StartPinned(name, c, command, args, environment)
            : ChildProcess.Start(name, command, args, environment);
        await WaitFor200Async(http, $"http://127.0.0.1:{admin}/ready", gateway, GatewayReadyTimeout, cancellationToken);
        return gateway;
    }

    private static async Task<List<TargetResult>> RunScenarioAsync(
        RunOptions options, Scenario scenario, List<Target> targets, HttpClient http, CancellationToken cancellationToken)
    {
        // Warm each target on this scenario's own path: JIT tiers and buffer pools differ for 16 KiB bodies
        // and for connection churn, so one warm-up per target would leave later scenarios cold.
        foreach (var target in targets)
        {
            EnsureAlive(targets);
            Progress($"{scenario.Name} warm-up {target.Name} ({WarmUpSeconds} s)");
            await Wrk.RunAsync(target.Port, scenario, options.Connections, WarmUpSeconds, cancellationToken, target.Host);
        }

        var samples = targets.ToDictionary(t => t.Name, _ => new List<RunSample>());
        for (var repeat = 1; repeat <= options.Repeats; repeat++)
        {
            // Round robin, starting one target later each repeat, so drift (thermal, page cache, TIME_WAIT
            // build-up) lands on every target alike and no target is always first or last.
            for (var i = 0; i < targets.Count; i++)
            {
                var target = targets[(i + repeat - 1) % targets.Count];
                EnsureAlive(targets);
                var sample = await MeasureAsync(options, scenario, target, repeat, http, cancellationToken);
                samples[target.Name].Add(sample);
                Progress(string.Create(CultureInfo.InvariantCulture,
                    $"{scenario.Name} run {repeat}/{options.Repeats} {target.Name}: {sample.Rps:N0} req/s, p50 {sample.P50Ms:0.000} ms, p99 {sample.P99Ms:0.000} ms, {sample.CpuSecondsPer10K:0.000} CPU-s/10k, {sample.RssMb:0.0} MB, errors {sample.Errors}"));
            }
        }

        return targets.Select(t => TargetResult.From(scenario.Name, t.Name, samples[t.Name])).ToList();
    }

    private static async Task<RunSample> MeasureAsync(
        RunOptions options, Scenario scenario, Target target, int repeat, HttpClient http, CancellationToken cancellationToken)
    {
        // Scrapes sit outside the CPU window: they cost the gateway CPU that no load request caused.
        var allocatedBefore = target.AdminPort is { } admin ? await ReadAllocatedBytesAsync(http, admin, cancellationToken) : null;
        var cpuBefore = ProcessMetrics.CpuSeconds(target.Process.Id);
        var wrk = await Wrk.RunAsync(target.Port, scenario, options.Connections, options.DurationSeconds, cancellationToken, target.Host);
        var cpuAfter = ProcessMetrics.CpuSeconds(target.Process.Id);
        var rss = ProcessMetrics.RssMegabytes(target.Process.Id);
        var allocatedAfter = target.AdminPort is { } admin2 ? await ReadAllocatedBytesAsync(http, admin2, cancellationToken) : null;

        // Rounded to what the measurement can resolve (CPU ticks are 10 ms), so the JSON carries no false digits.
        var cpu = Math.Round(cpuAfter - cpuBefore, 3);
        double? cpuPer10K = wrk.Requests > 0 ? Math.Round(cpu / (wrk.Requests / 10_000.0), 4) : null;
        double? allocPerRequest = allocatedBefore is { } a0 && allocatedAfter is { } a1 && wrk.Requests > 0
            ? Math.Round((a1 - a0) / wrk.Requests, 1)
            : null;
        return new RunSample(
            repeat,
            wrk.RequestsPerSecond,
            wrk.Requests,
            wrk.P50Ms,
            wrk.P99Ms,
            cpu,
            cpuPer10K,
            Math.Round(rss, 1),
            allocPerRequest,
            wrk.Errors,
            wrk.ConnectErrors,
            wrk.ReadErrors,
            wrk.WriteErrors,
            wrk.Timeouts,
            wrk.Non2xx3xx);
    }

    /// <summary>Sum of the allocation counter's samples in the Prometheus text format; null when it is not exported.</summary>
    private static async Task<double?> ReadAllocatedBytesAsync(HttpClient http, int adminPort, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await http.GetStringAsync($"http://127.0.0.1:{adminPort}/stats/prometheus", cancellationToken);
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        return PrometheusText.Sum(text, AllocatedMetric);
    }

    /// <summary>
    /// Asks the origin, through a target, which forwarding fields reached it, and fails the run unless they are
    /// exactly <paramref name="expected"/>: a peer config that silently stopped adding them would make the comparison
    /// unequal without anyone noticing. <paramref name="baseUrl"/> is the target's scheme, host and port.
    /// </summary>
    internal static async Task CheckForwardingAsync(string name, string baseUrl, IReadOnlyCollection<string> expected, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(2) };
        // The run's own self-signed certificate.
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        // h2 where TLS offers it (FastPath's h2 listener offers nothing else), HTTP/1.1 in the clear.
        using var client = new HttpClient(handler)
        {
            Timeout = TimeSpan.FromSeconds(5),
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        string body;
        try
        {
            body = await client.GetStringAsync(baseUrl + Origin.OriginOptions.ForwardedPath, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new ScenarioException($"{name}: GET {Origin.OriginOptions.ForwardedPath} failed: {ex.Message}");
        }

        var seen = body.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (!seen.Order(StringComparer.Ordinal).SequenceEqual(expected.Order(StringComparer.Ordinal), StringComparer.Ordinal))
        {
            throw new ScenarioException(
                $"{name} forwards [{string.Join(", ", seen)}] to the origin, expected [{string.Join(", ", expected)}]: the targets would not do the same work");
        }
    }

    internal static async Task WaitFor200Async(HttpClient http, string url, ChildProcess process, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new ScenarioException($"{process.Name} exited before {url} answered 200. Command: {process.CommandLine}{Environment.NewLine}{process.Tail()}");
            }

            try
            {
                using var response = await http.GetAsync(url, cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                last = $"HTTP {(int)response.StatusCode}";
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                last = "request timed out";
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new ScenarioException(
            $"{process.Name} did not answer 200 on {url} within {timeout.TotalSeconds:0} s (last: {last}). Command: {process.CommandLine}{Environment.NewLine}{process.Tail()}");
    }

    private static void EnsureAlive(List<Target> targets)
    {
        foreach (var target in targets)
        {
            if (target.Process.HasExited)
            {
                throw new ScenarioException($"{target.Name} (pid {target.Process.Id}) exited during the run:{Environment.NewLine}{target.Process.Tail()}");
            }
        }
    }

    private static int Gate(RunOptions options, List<TargetResult> results)
    {
        var origin = results.FirstOrDefault(r => r.Scenario == Scenario.KeepAliveSmall.Name && r.Target == OriginTarget);
        var fastPath = results.FirstOrDefault(r => r.Scenario == Scenario.KeepAliveSmall.Name && r.Target == FastPathTarget);
        if (origin is null || fastPath is null)
        {
            Console.WriteLine($"GATE SKIPPED: {Scenario.KeepAliveSmall.Name} was not run");
            return 0;
        }

        var ratio = origin.Rps > 0 ? fastPath.Rps / origin.Rps : 0;
        var verdict = string.Create(CultureInfo.InvariantCulture,
            $"{Scenario.KeepAliveSmall.Name} fastpath {fastPath.Rps:N0} req/s / origin {origin.Rps:N0} req/s = {ratio:0.000}");
        var failed = false;
        if (ratio < options.GateRatio)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"GATE FAILED: {verdict} < {options.GateRatio:0.###}"));
            failed = true;
        }
        else
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"GATE OK: {verdict} >= {options.GateRatio:0.###}"));
        }

        // The routed gateway against the plain one, both measured in this run: routing, a weighted split, a header
        // mutation and a rate-limit filter must cost little next to the proxying itself.
        var routed = results.FirstOrDefault(r => r.Scenario == Scenario.KeepAliveSmall.Name && r.Target == RoutedTarget);
        if (routed is not null)
        {
            var routedRatio = fastPath.Rps > 0 ? routed.Rps / fastPath.Rps : 0;
            var routedVerdict = string.Create(CultureInfo.InvariantCulture,
                $"{Scenario.KeepAliveSmall.Name} {RoutedTarget} {routed.Rps:N0} req/s / fastpath {fastPath.Rps:N0} req/s = {routedRatio:0.000}");
            if (routedRatio < options.RoutedGateRatio || routed.Errors > 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"GATE FAILED: {routedVerdict} (floor {options.RoutedGateRatio:0.###}, errors {routed.Errors})"));
                failed = true;
            }
            else
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"GATE OK: {routedVerdict} >= {options.RoutedGateRatio:0.###}"));
            }
        }

        return failed ? 1 : 0;
    }

    private static async Task<List<string>> DescribeEnvironmentAsync(RunOptions options, string startLoad, CancellationToken cancellationToken)
    {
        var lines = new List<string>
        {
            $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} CPUs, {RuntimeInformation.OSDescription}, .NET {Environment.Version}",
            $"proxies pinned to core {ProxyCore} (one thread/worker each); origin and wrk pinned to core {OriginCore}; loopback only",
            $"gateway: {options.GatewayPath}",
            "CPU-s/10k: proxy process-tree CPU seconds (user+sys) per 10,000 requests; for `origin` it is the origin's own",
            options.PeerForwarding
                ? "peers add x-forwarded-for, x-forwarded-proto and x-request-id as FastPath does (--bare-peers: their defaults)"
                : "peers at their defaults (--bare-peers): they add no forwarding fields, FastPath adds three",
            // Shared or busy machines skew req/s far more than CPU-s/10k; the load average tells a reader which to trust.
            $"load average (1/5/15 min) at start: {startLoad}, at end: {LoadAverage()}",
        };

        foreach (var peer in options.Peers)
        {
            var executable = Tools.Resolve(Peers.ExecutableFor(peer));
            if (executable is null)
            {
                continue;
            }

            var version = ChildProcess.Start(peer + " -v", executable, ["-v"], keepStdout: true);
            try
            {
                await version.WaitForExitAsync(TimeSpan.FromSeconds(5), cancellationToken);
                var first = version.Tail().Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim();
                if (first is not null)
                {
                    lines.Add($"{peer}: {first}");
                }
            }
            finally
            {
                version.Kill();
            }
        }

        return lines;
    }

    private static void CopyPeerConfigs(string work, string outDirectory)
    {
        // Kept next to the results so a reader can check the peers were configured fairly.
        foreach (var (source, name) in new[] { (Path.Combine(work, "haproxy.cfg"), "haproxy.cfg"), (Path.Combine(work, "nginx", "nginx.conf"), "nginx.conf") })
        {
            if (File.Exists(source))
            {
                File.Copy(source, Path.Combine(outDirectory, name), overwrite: true);
            }
        }
    }

    /// <summary>A port the kernel just handed out on loopback; the tiny reuse race is acceptable on a bench box.</summary>
    internal static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The 1, 5 and 15 minute load averages from /proc/loadavg.</summary>
    internal static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static void Progress(string message) => Console.Error.WriteLine(message);
}
