// The `h2` subcommand: the issue-5 HTTP/2 scenario. h2load (-c 10 -m 10 by default, TLS 1.3, ALPN h2, 64-byte
// bodies) drives each proxy terminating HTTP/2 in front of the same HTTP/1.1 origin, one core each, round robin
// over repeats; medians of req/s, p50/p99 and CPU seconds per 10k requests go to a markdown table.
// FastPath joins the targets once it serves HTTP/2 downstream (--gateway); until then the peers set the bar.

using System.Globalization;
using System.Net.Http;
using System.Text;
using FastPath.Scenarios.Origin;

namespace FastPath.Scenarios.Runner;

internal sealed record H2Options(int DurationSeconds, int Repeats, int Clients, int Streams, IReadOnlyList<string> Peers, string OutDirectory,
    string? GatewayPath, double? GateRatio, bool PeerForwarding = true, bool Restart = false, string? BaselinePath = null, bool H2Origin = true,
    string Origin = NginxOrigin.Name)
{
    public const string KestrelOrigin = "kestrel";

    public static H2Options Parse(ReadOnlySpan<string> args)
    {
        Dictionary<string, string> flags = CommandLine.Parse(args, ["duration", "repeats", "clients", "streams", "peers", "out", "gateway", "gate-ratio", "baseline", "origin"],
            ["quick", "bare-peers", "restart", "no-h2-origin"]);
        bool quick = flags.TryGetValue("quick", out string? q) && q != "false";
        string[] peers = flags.TryGetValue("peers", out string? text)
            ? (text is "none" ? [] : CommandLine.List(text))
            : [RunOptions.HaProxy, RunOptions.Nginx, RunOptions.H2o];
        foreach (string peer in peers)
        {
            if (peer is not (RunOptions.HaProxy or RunOptions.Nginx or RunOptions.H2o))
                throw new UsageException($"unknown peer '{peer}' (known: {RunOptions.HaProxy}, {RunOptions.Nginx}, {RunOptions.H2o}, none)");
        }
        string? gateway = flags.TryGetValue("gateway", out string? g) && g.Length > 0 ? Path.GetFullPath(g) : null;
        if (peers.Length == 0 && gateway is null) throw new UsageException("h2 needs at least one target (--gateway or --peers)");
        string? baseline = flags.TryGetValue("baseline", out string? b) && b.Length > 0 ? Path.GetFullPath(b) : null;
        if (baseline is not null && gateway is null) throw new UsageException("--baseline compares against --gateway: give both");
        string origin = flags.TryGetValue("origin", out string? o) ? o : NginxOrigin.Name;
        if (origin is not (NginxOrigin.Name or KestrelOrigin))
            throw new UsageException($"unknown origin '{origin}' (known: {NginxOrigin.Name}, {KestrelOrigin})");
        return new H2Options(
            CommandLine.Int(flags, "duration", quick ? 3 : 10, 1, 600),
            CommandLine.Int(flags, "repeats", 3, 1, 50),
            CommandLine.Int(flags, "clients", 10, 1, 1000),
            CommandLine.Int(flags, "streams", 10, 1, 1000),
            peers,
            flags.TryGetValue("out", out string? dir) ? dir : "perf-results",
            gateway,
            flags.ContainsKey("gate-ratio") ? CommandLine.Double(flags, "gate-ratio", 0, 0, 100) : null,
            !RunOptions.BarePeers(flags),
            flags.TryGetValue("restart", out string? restart) && restart != "false",
            baseline,
            !(flags.TryGetValue("no-h2-origin", out string? noH2) && noH2 != "false"),
            origin);
    }
}

internal static class H2Runner
{
    private const int ProxyCore = 0;
    // Long enough for a JIT gateway to reach tier 1 (4-8 s with the runtime settings ScenarioRunner gives it); the
    // same for every target, so the natively compiled peers get it too.
    private const int WarmUpSeconds = 8;
    private const int OriginCore = 1;
    private const int SmallBodyBytes = 64;
    private const string H2OriginTarget = "fastpath-h2-origin";
    private const string BaselineTarget = "baseline";

    private sealed record H2Target(string Name, int Port, ChildProcess Process);

    private sealed record H2Sample(double Rps, double? P50Ms, double? P99Ms, double? CpuSecondsPer10K, long Errors);

    public static Task<int> RunAsync(H2Options options) =>
        ScenarioRunner.RunInWorkDirectoryAsync("fastpath-h2-", (work, cancellationToken) => RunCoreAsync(options, work, cancellationToken));

    private static async Task<int> RunCoreAsync(H2Options options, string work, CancellationToken cancellationToken)
    {
        Tools.Require("/usr/bin/taskset", "apt-get install util-linux");
        Tools.Require(H2Load.Path, "apt-get install nghttp2-client");
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(2) }) { Timeout = TimeSpan.FromSeconds(5) };

        int originPort = ScenarioRunner.FreePort();
        var (self, selfPrefix) = Tools.Self();
        // nginx by default: cheaper per request than every proxy, so the proxy's core decides the rate (NginxOrigin).
        ChildProcess origin = options.Origin == NginxOrigin.Name
            ? NginxOrigin.Start(work, originPort, SmallBodyBytes, OriginCore)
            : ChildProcess.StartPinned("origin", OriginCore, self,
                [.. selfPrefix, "origin", "--port", originPort.ToString(CultureInfo.InvariantCulture), "--body", SmallBodyBytes.ToString(CultureInfo.InvariantCulture)]);
        await ScenarioRunner.WaitFor200Async(http, $"http://127.0.0.1:{originPort}/small", origin, TimeSpan.FromSeconds(15), cancellationToken);

        H2Peers.TlsFiles tls = H2Peers.WriteCertificate(work);
        // Each target is a recipe, so that --restart can start a fresh process of it for every repeat.
        var specs = new List<(string Name, Func<Task<H2Target>> StartAsync)>();
        if (options.GatewayPath is { } gatewayPath)
        {
            // FastPath terminating TLS + h2 in front of the HTTP/1.1 origin, as the peers do.
            specs.Add((ScenarioRunner.FastPathTarget, () => StartGatewayAsync(ScenarioRunner.FastPathTarget, gatewayPath, originPort, http2Origin: false)));
            // Another FastPath build (the last release, main before a change) doing the same job in the same repeats.
            if (options.BaselinePath is { } baselinePath)
                specs.Add((BaselineTarget, () => StartGatewayAsync(BaselineTarget, baselinePath, originPort, http2Origin: false)));
        }
        if (options.GatewayPath is { } h2GatewayPath && options.H2Origin)
        {
            // The same, to an HTTP/2 (h2c) origin: the gRPC path, end to end HTTP/2. No peer here (nginx and h2o
            // cannot proxy to HTTP/2), so it is reported beside FastPath's HTTP/1.1-origin figure.
            int h2OriginPort = ScenarioRunner.FreePort();
            ChildProcess h2Origin = ChildProcess.StartPinned("origin-h2", OriginCore, self,
                [.. selfPrefix, "origin", "--port", h2OriginPort.ToString(CultureInfo.InvariantCulture), "--body",
                 SmallBodyBytes.ToString(CultureInfo.InvariantCulture), "--http2"]);
            specs.Add((H2OriginTarget, async () =>
            {
                if (h2Origin.HasExited) throw new ScenarioException($"{h2Origin.Name} exited. Command: {h2Origin.CommandLine}{Environment.NewLine}{h2Origin.Tail()}");
                return await StartGatewayAsync(H2OriginTarget, h2GatewayPath, h2OriginPort, http2Origin: true);
            }));
        }
        foreach (string peer in options.Peers)
        {
            specs.Add((peer, async () =>
            {
                int port = ScenarioRunner.FreePort();
                ChildProcess process = H2Peers.Start(peer, work, tls, port, originPort, ProxyCore, options.PeerForwarding);
                await WaitForH2Async(port, process, work, cancellationToken);
                await ScenarioRunner.CheckForwardingAsync(peer, $"https://127.0.0.1:{port}", Peers.ForwardingFields(peer, options.PeerForwarding), cancellationToken);
                return new H2Target(peer, port, process);
            }));
        }

        async Task<H2Target> StartGatewayAsync(string name, string gatewayPath, int upstreamPort, bool http2Origin)
        {
            int port = ScenarioRunner.FreePort();
            int admin = ScenarioRunner.FreePort();
            string config = Path.Combine(work, name + ".yaml");
            await File.WriteAllTextAsync(config, GatewayYaml(port, admin, upstreamPort, tls, http2Origin), cancellationToken);
            ChildProcess gateway = await ScenarioRunner.StartGatewayProcessAsync(gatewayPath, ["--config", config], admin, ProxyCore,
                name, http, cancellationToken);
            await WaitForH2Async(port, gateway, work, cancellationToken);
            if (!http2Origin)
                await ScenarioRunner.CheckForwardingAsync(name, $"https://127.0.0.1:{port}", OriginOptions.ForwardingFields, cancellationToken);
            return new H2Target(name, port, gateway);
        }

        async Task WarmUpAsync(H2Target target)
        {
            Console.Error.WriteLine($"h2 warm-up {target.Name}");
            await H2Load.RunAsync(Url(target.Port), options.Clients, options.Streams, WarmUpSeconds, work, cancellationToken);
        }

        var targets = new List<H2Target>();
        if (!options.Restart)
        {
            foreach (var spec in specs) targets.Add(await spec.StartAsync());
            foreach (H2Target target in targets) await WarmUpAsync(target);
        }
        var samples = specs.ToDictionary(t => t.Name, _ => new List<H2Sample>());
        for (int repeat = 1; repeat <= options.Repeats; repeat++)
        {
            for (int i = 0; i < specs.Count; i++)
            {
                int index = (i + repeat - 1) % specs.Count;
                H2Target target;
                if (options.Restart)
                {
                    // A fresh process each repeat: some effects (thread placement, JIT or allocator state) are set at
                    // start and hold for a process's life, and one process per target would measure only one draw.
                    target = await specs[index].StartAsync();
                    await WarmUpAsync(target);
                }
                else
                {
                    target = targets[index];
                }
                double cpuBefore = ProcessMetrics.CpuSeconds(target.Process.Id);
                H2LoadResult r = await H2Load.RunAsync(Url(target.Port), options.Clients, options.Streams, options.DurationSeconds, work, cancellationToken);
                double cpu = ProcessMetrics.CpuSeconds(target.Process.Id) - cpuBefore;
                if (options.Restart) target.Process.Kill();
                long requests = r.Succeeded;
                var sample = new H2Sample(r.RequestsPerSecond, r.P50Ms, r.P99Ms, requests > 0 ? Math.Round(cpu / (requests / 10_000.0), 4) : null, r.Errors);
                samples[target.Name].Add(sample);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"h2 run {repeat}/{options.Repeats} {target.Name}: {sample.Rps:N0} req/s, p50 {sample.P50Ms:0.000} ms, p99 {sample.P99Ms:0.000} ms, {sample.CpuSecondsPer10K:0.000} CPU-s/10k, errors {sample.Errors}"));
            }
        }

        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"## h2: h2load -c {options.Clients} -m {options.Streams}, TLS 1.3, {SmallBodyBytes} B bodies, HTTP/1.1 origin {options.Origin} ({options.Repeats} x {options.DurationSeconds} s, medians{(options.Restart ? ", a fresh process of each target per repeat" : "")})");
        md.AppendLine();
        md.AppendLine(options.PeerForwarding
            ? "Peers add x-forwarded-for, x-forwarded-proto and x-request-id as FastPath does (h2o the first two); --bare-peers runs them at their defaults."
            : "Peers at their defaults (--bare-peers): HAProxy and nginx add no forwarding fields, FastPath adds three.");
        md.AppendLine();
        md.AppendLine("| target | req/s | p50 ms | p99 ms | CPU-s/10k | errors |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (string name in specs.Select(t => t.Name))
        {
            List<H2Sample> s = samples[name];
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {TargetResult.Median(s.Select(x => (double?)x.Rps)):N0} | {TargetResult.Median(s.Select(x => x.P50Ms)):0.000} | {TargetResult.Median(s.Select(x => x.P99Ms)):0.000} | {TargetResult.Median(s.Select(x => x.CpuSecondsPer10K)):0.000} | {s.Sum(x => x.Errors)} |"));
        }
        // FastPath against each other target doing the same job (the peers and the baseline build), repeat by repeat.
        var pairs = new List<(string, string, IReadOnlyList<PairedRatio>)>();
        if (samples.TryGetValue(ScenarioRunner.FastPathTarget, out List<H2Sample>? fastPath))
        {
            foreach (string other in specs.Select(t => t.Name).Where(n => n is not (ScenarioRunner.FastPathTarget or H2OriginTarget)))
            {
                var repeats = fastPath.Zip(samples[other]).ToList(); // the same repeat: both lists are in repeat order
                pairs.Add((ScenarioRunner.FastPathTarget, other, PairedComparison.Ratios(repeats, x => x.Rps, x => x.CpuSecondsPer10K, x => x.P99Ms)));
            }
        }
        if (pairs.Count > 0)
        {
            md.AppendLine();
            md.Append(PairedComparison.Markdown(pairs));
        }
        Directory.CreateDirectory(options.OutDirectory);
        await File.WriteAllTextAsync(Path.Combine(options.OutDirectory, "h2-results.md"), md.ToString(), CancellationToken.None);
        Console.WriteLine(md.ToString());
        int exit = samples.Values.Any(s => s.Sum(x => x.Errors) > 0) ? 1 : 0;
        if (exit != 0) Console.WriteLine("GATE FAILED: requests failed (errors column)");
        if (options.GateRatio is { } floor)
        {
            // FastPath's h2 throughput beside HAProxy's in the same run (a ratio, so the machine's speed cancels out).
            if (!samples.TryGetValue(ScenarioRunner.FastPathTarget, out List<H2Sample>? fp) || !samples.TryGetValue(RunOptions.HaProxy, out List<H2Sample>? ha))
                throw new UsageException("--gate-ratio needs --gateway and the haproxy peer");
            double ratio = (TargetResult.Median(fp.Select(x => (double?)x.Rps)) ?? 0) / (TargetResult.Median(ha.Select(x => (double?)x.Rps)) ?? 1);
            bool ok = ratio >= floor;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"GATE {(ok ? "OK" : "FAILED")}: h2 {ScenarioRunner.FastPathTarget} ÷ {RunOptions.HaProxy} req/s = {ratio:0.000} {(ok ? ">=" : "<")} {floor}"));
            if (!ok) exit = 1;
        }
        return exit;
    }

    private static string Url(int port) => $"https://127.0.0.1:{port}/small";

    /// <summary>`h2-config`: prints <see cref="GatewayYaml"/> for a hand run of the scenario's path.</summary>
    public static int PrintConfig(ReadOnlySpan<string> args)
    {
        Dictionary<string, string> flags = CommandLine.Parse(args, ["port", "admin", "origin", "cert", "key"], []);
        int Port(string name) => flags.TryGetValue(name, out string? v) && int.TryParse(v, CultureInfo.InvariantCulture, out int p) && p is > 0 and < 65536
            ? p : throw new UsageException($"h2-config needs --{name} PORT");
        string File(string name) => flags.TryGetValue(name, out string? v) ? Path.GetFullPath(v) : throw new UsageException($"h2-config needs --{name} FILE");
        Console.Write(GatewayYaml(Port("port"), Port("admin"), Port("origin"), new H2Peers.TlsFiles(File("cert"), File("key"), "")));
        Console.WriteLine();
        return 0;
    }

    /// <summary>The gateway's config for the scenario: one TLS listener offering h2, the origin as an HTTP/1.1 cluster.</summary>
    internal static string GatewayYaml(int port, int admin, int originPort, H2Peers.TlsFiles tls, bool http2Origin = false) =>
        string.Create(CultureInfo.InvariantCulture, $$"""
        # Generated by FastPath.Scenarios (HTTP/2): TLS 1.3 + h2 to clients, HTTP/1.1 (or h2c) to the origin.
        admin: {address: 127.0.0.1, port: {{admin}}}
        listeners:
          - name: h2
            address: 127.0.0.1
            port: {{port}}
            tls:
              certificates: [{cert_file: {{tls.CertificatePem}}, key_file: {{tls.KeyPem}}}]
              alpn: [h2]
              min_version: TLSv1_3
            virtual_hosts:
              - name: all
                domains: ["*"]
                routes: [{prefix: /, cluster: origin}]
        clusters:
          - name: origin
            endpoints: ["127.0.0.1:{{originPort}}"]
            protocol: {{(http2Origin ? "http2" : "http1")}}
        """);

    /// <summary>A target is up once one h2load request over TLS + h2 succeeds.</summary>
    private static async Task WaitForH2Async(int port, ChildProcess process, string work, CancellationToken cancellationToken)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(15);
        string last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new ScenarioException($"{process.Name} exited. Command: {process.CommandLine}{Environment.NewLine}{process.Tail()}");
            ChildProcess probe = ChildProcess.Start("h2load-probe", H2Load.Path, ["-n1", "-c1", Url(port)], keepStdout: true);
            int? exit = await probe.WaitForExitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            if (exit == 0 && probe.StandardOutput.Contains("1 succeeded", StringComparison.Ordinal)) return;
            last = probe.StandardOutput.Split('\n').FirstOrDefault(l => l.StartsWith("requests:", StringComparison.Ordinal)) ?? probe.Tail();
            await Task.Delay(200, cancellationToken);
        }
        throw new ScenarioException($"{process.Name} did not serve h2 on :{port} within 15 s (last: {last}){Environment.NewLine}{process.Tail()}");
    }
}
