// The `tls` subcommand (issue 4): TLS costs measured in one run on this machine.
//  1. Keep-alive throughput over TLS against plaintext on the same FastPath process (wrk, /small).
//  2. New TLS connections per second (a full handshake per request: wrk with Connection: close) for FastPath and
//     HAProxy terminating TLS with the same certificate, one thread each on the proxy core.
//  3. The latency a mesh hop adds: client -> FastPath -> ISTIO_MUTUAL -> FastPath (STRICT) -> origin, against the
//     origin direct, at a fixed 1,000 req/s from a bounded open-loop client (latency counted from each request's
//     scheduled time, so a stall is not hidden by the client waiting), p50 and p99.
// Certificates are made here (a CA and one SPIFFE workload certificate) and written to the run's temp directory.

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace FastPath.Scenarios.Runner;

internal static class TlsScenarios
{
    private const int MeshRate = 1000;
    private const int MeshConnections = 4;

    public static Task<int> RunAsync(ReadOnlySpan<string> args)
    {
        var flags = CommandLine.Parse(args, ["gateway", "duration", "connections", "gate-ratio", "peers"], []);
        var gatewayPath = flags.GetValueOrDefault("gateway") ?? throw new UsageException("--gateway is required");
        var duration = int.Parse(flags.GetValueOrDefault("duration", "5"), CultureInfo.InvariantCulture);
        var connections = int.Parse(flags.GetValueOrDefault("connections", "50"), CultureInfo.InvariantCulture);
        var gateRatio = double.Parse(flags.GetValueOrDefault("gate-ratio", "0.75"), CultureInfo.InvariantCulture);
        var withHaProxy = flags.GetValueOrDefault("peers", "haproxy") != "none";
        if (duration is < 1 or > 10) throw new UsageException("--duration is 1-10 seconds");

        return RunInWorkDirectoryAsync(gatewayPath, duration, connections, gateRatio, withHaProxy);
    }

    private static async Task<int> RunInWorkDirectoryAsync(string gatewayPath, int duration, int connections, double gateRatio, bool withHaProxy)
    {
        var work = Directory.CreateTempSubdirectory("fastpath-tls-scenarios-");
        try
        {
            return await RunCoreAsync(gatewayPath, duration, connections, gateRatio, withHaProxy, work.FullName, CancellationToken.None);
        }
        finally
        {
            ChildProcess.KillAll();
            work.Delete(recursive: true);
        }
    }

    private static async Task<int> RunCoreAsync(string gatewayPath, int duration, int connections, double gateRatio, bool withHaProxy, string work,
        CancellationToken cancel)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
        var pki = WritePki(work);
        var originPort = ScenarioRunner.FreePort();
        var (self, prefix) = Tools.Self();
        var origin = ChildProcess.StartPinned(ScenarioRunner.OriginTarget, ScenarioRunner.OriginCore, self,
            [.. prefix, "origin", "--port", Text(originPort), "--body", Text(ScenarioRunner.SmallBodyBytes)]);
        await ScenarioRunner.WaitFor200Async(http, $"http://127.0.0.1:{originPort}/small", origin, TimeSpan.FromSeconds(15), cancel);

        // The mesh's far side: a STRICT sidecar in front of the origin (on the origin's core: it is the hop's
        // second proxy, and the proxy core belongs to the one measured).
        int sidecarPort = ScenarioRunner.FreePort(), sidecarAdmin = ScenarioRunner.FreePort();
        string sidecarConfig = Path.Combine(work, "sidecar.yaml");
        await File.WriteAllTextAsync(sidecarConfig, $$"""
            {{Head(sidecarAdmin, pki, "STRICT")}}
              - name: inbound
                address: 127.0.0.1:{{sidecarPort}}
                {{RoutesTo("app")}}
            clusters: [{name: app, endpoints: [127.0.0.1:{{originPort}}]}]
            """, cancel);
        await ScenarioRunner.StartGatewayProcessAsync(gatewayPath, ["--config", sidecarConfig], sidecarAdmin, ScenarioRunner.OriginCore,
            "fastpath-sidecar", http, cancel);

        int plainPort = ScenarioRunner.FreePort(), tlsPort = ScenarioRunner.FreePort(), hopPort = ScenarioRunner.FreePort(), admin = ScenarioRunner.FreePort();
        string config = Path.Combine(work, "edge.yaml");
        await File.WriteAllTextAsync(config, $$"""
            {{Head(admin, pki, "DISABLE")}}
              - name: plain
                address: 127.0.0.1:{{plainPort}}
                {{RoutesTo("app")}}
              - name: tls
                address: 127.0.0.1:{{tlsPort}}
                tls: {certificates: [{cert_file: {{pki.Cert}}, key_file: {{pki.Key}}}]}
                {{RoutesTo("app")}}
              - name: hop
                address: 127.0.0.1:{{hopPort}}
                {{RoutesTo("mesh")}}
            clusters:
              - {name: app, endpoints: [127.0.0.1:{{originPort}}]}
              - name: mesh
                endpoints: [127.0.0.1:{{sidecarPort}}]
                tls: {mode: ISTIO_MUTUAL, subject_alt_names: ["spiffe://cluster.local/ns/perf/sa/workload"]}
            """, cancel);
        var gateway = await ScenarioRunner.StartGatewayProcessAsync(gatewayPath, ["--config", config], admin, ScenarioRunner.ProxyCore,
            ScenarioRunner.FastPathTarget, http, cancel);
        await ScenarioRunner.WaitFor200Async(http, $"http://127.0.0.1:{hopPort}/small", gateway, TimeSpan.FromSeconds(15), cancel);

        int haproxyPort = 0;
        ChildProcess? haproxy = null;
        if (withHaProxy)
        {
            haproxyPort = ScenarioRunner.FreePort();
            string haproxyConfig = Path.Combine(work, "haproxy-tls.cfg");
            await File.WriteAllTextAsync(haproxyConfig, HaProxyTlsConfig(haproxyPort, originPort, pki.Combined) + "\n", cancel);
            haproxy = ChildProcess.StartPinned(RunOptions.HaProxy, ScenarioRunner.ProxyCore, Peers.HaProxyPath, ["-db", "-f", haproxyConfig]);
            await Task.Delay(500, cancel);
        }

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"# TLS scenarios ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} CPUs, load {ScenarioRunner.LoadAverage()})");
        report.AppendLine(CultureInfo.InvariantCulture, $"proxies pinned to core {ScenarioRunner.ProxyCore}, origin, sidecar and wrk to core {ScenarioRunner.OriginCore}; wrk -t1 -c{connections} -d{duration}s");
        report.AppendLine();

        // 1. Keep-alive, plaintext and TLS interleaved twice on the same process.
        var scenario = Scenario.KeepAliveSmall;
        await Wrk.RunAsync(plainPort, scenario, connections, 2, cancel);
        await Wrk.RunAsync(tlsPort, scenario, connections, 2, cancel, scheme: "https");
        var plain = new List<WrkResult>();
        var tls = new List<WrkResult>();
        for (int i = 0; i < 2; i++)
        {
            plain.Add(await Wrk.RunAsync(plainPort, scenario, connections, duration, cancel));
            tls.Add(await Wrk.RunAsync(tlsPort, scenario, connections, duration, cancel, scheme: "https"));
        }
        double plainRps = plain.Average(r => r.RequestsPerSecond), tlsRps = tls.Average(r => r.RequestsPerSecond);
        double ratio = tlsRps / plainRps;
        report.AppendLine("| keep-alive /small (64 B) | req/s | p50 ms | p99 ms | errors |");
        report.AppendLine("|---|---:|---:|---:|---:|");
        report.AppendLine(Row("fastpath http", plain));
        report.AppendLine(Row("fastpath https", tls));
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"TLS / plaintext keep-alive throughput: {ratio:0.000} (gate >= {gateRatio:0.00})");
        report.AppendLine();

        // 2. New TLS connections per second: every request a new connection and a full handshake.
        var newConn = Scenario.NewConnectionSmall;
        report.AppendLine("| new TLS connection per request | conn/s | p50 ms | p99 ms | errors |");
        report.AppendLine("|---|---:|---:|---:|---:|");
        await Wrk.RunAsync(tlsPort, newConn, connections, 2, cancel, scheme: "https");
        report.AppendLine(Row("fastpath", [await Wrk.RunAsync(tlsPort, newConn, connections, duration, cancel, scheme: "https")]));
        if (haproxy is not null)
        {
            await Wrk.RunAsync(haproxyPort, newConn, connections, 2, cancel, scheme: "https");
            report.AppendLine(Row("haproxy", [await Wrk.RunAsync(haproxyPort, newConn, connections, duration, cancel, scheme: "https")]));
        }
        report.AppendLine();

        // 3. The mTLS hop at a fixed rate, against the origin direct.
        await FixedRate.RunAsync(hopPort, MeshRate, MeshConnections, 2, cancel);
        var direct = await FixedRate.RunAsync(originPort, MeshRate, MeshConnections, duration, cancel);
        var hop = await FixedRate.RunAsync(hopPort, MeshRate, MeshConnections, duration, cancel);
        report.AppendLine(CultureInfo.InvariantCulture, $"| {MeshRate} req/s over {MeshConnections} keep-alive connections | sent | p50 ms | p99 ms | errors |");
        report.AppendLine("|---|---:|---:|---:|---:|");
        report.AppendLine(direct.Row("origin direct"));
        report.AppendLine(hop.Row("client -> fastpath -> mTLS -> fastpath -> origin"));
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture,
            $"mTLS hop adds p50 {hop.P50Ms - direct.P50Ms:0.000} ms, p99 {hop.P99Ms - direct.P99Ms:0.000} ms over the origin direct");
        Console.WriteLine(report.ToString());

        bool ok = ratio >= gateRatio && tls.All(r => r.Errors == 0) && hop.Errors == 0;
        Console.WriteLine(ok ? "GATE OK" : "GATE FAILED");
        return ok ? 0 : 1;
    }

    private static string Row(string name, List<WrkResult> runs) => string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {runs.Average(r => r.RequestsPerSecond):N0} | {runs.Average(r => r.P50Ms ?? 0):0.000} | {runs.Average(r => r.P99Ms ?? 0):0.000} | {runs.Sum(r => r.Errors)} |");

    /// <summary>Admin, the mesh identity, PeerAuthentication and the start of the listener list.</summary>
    private static string Head(int admin, (string Cert, string Key, string Ca, string Combined) pki, string mode) => $$"""
        admin: {address: 127.0.0.1, port: {{admin}}}
        mesh:
          trust_domain: cluster.local
          certificate: {cert_file: {{pki.Cert}}, key_file: {{pki.Key}}}
          trust_bundle: {{pki.Ca}}
        peer_authentication: {mode: {{mode}}}
        listeners:
        """;

    private static string RoutesTo(string cluster) => $$"""virtual_hosts: [{domains: ["*"], routes: [{prefix: /, cluster: {{cluster}}}]}]""";

    /// <summary>The `run` scenarios' HAProxy config (one thread, keep-alive both sides), its bind terminating TLS.</summary>
    private static string HaProxyTlsConfig(int listenPort, int originPort, string pem) =>
        Peers.HaProxyConfig(listenPort, originPort, forwarding: true).Replace($"bind 127.0.0.1:{listenPort}",
            $"bind 127.0.0.1:{listenPort} ssl crt {pem} alpn http/1.1 ssl-min-ver TLSv1.2", StringComparison.Ordinal);

    /// <summary>A CA and a workload certificate (SPIFFE URI and localhost), as PEM files; Combined is HAProxy's cert+key.</summary>
    private static (string Cert, string Key, string Ca, string Combined) WritePki(string work)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=perf CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddUri(new Uri("spiffe://cluster.local/ns/perf/sa/workload"));
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8));
        string certFile = Path.Combine(work, "workload.pem"), keyFile = Path.Combine(work, "workload.key");
        string caFile = Path.Combine(work, "ca.pem"), combined = Path.Combine(work, "haproxy.pem");
        File.WriteAllText(certFile, cert.ExportCertificatePem() + "\n");
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem() + "\n");
        File.WriteAllText(caFile, ca.ExportCertificatePem() + "\n");
        File.WriteAllText(combined, cert.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem() + "\n");
        return (certFile, keyFile, caFile, combined);
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// A bounded fixed-rate HTTP/1.1 client (wrk2 is not packaged): CONNECTIONS keep-alive connections share RATE
/// requests per second, each request sent at its scheduled time (or at once when the previous answer came late),
/// its latency measured from that schedule, so stalls count in full (no coordinated omission).
/// </summary>
internal static class FixedRate
{
    public sealed record Result(int Sent, int Errors, double P50Ms, double P99Ms)
    {
        public string Row(string name) => string.Create(CultureInfo.InvariantCulture, $"| {name} | {Sent:N0} | {P50Ms:0.000} | {P99Ms:0.000} | {Errors} |");
    }

    public static async Task<Result> RunAsync(int port, int rate, int connections, int seconds, CancellationToken cancel)
    {
        var latencies = new List<double>[connections];
        var errors = new int[connections];
        long start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 10;
        var tasks = new Task[connections];
        for (int c = 0; c < connections; c++)
        {
            int index = c;
            latencies[c] = new List<double>(rate * seconds / connections + 1);
            tasks[c] = Task.Run(() => ConnectionAsync(port, rate / (double)connections, seconds, start, index / (double)rate, latencies[index],
                () => errors[index]++, cancel), cancel);
        }
        await Task.WhenAll(tasks);
        var all = latencies.SelectMany(l => l).OrderBy(x => x).ToArray();
        if (all.Length == 0) return new Result(0, errors.Sum(), 0, 0);
        return new Result(all.Length, errors.Sum(), all[(int)(all.Length * 0.50)], all[Math.Min(all.Length - 1, (int)(all.Length * 0.99))]);
    }

    private static async Task ConnectionAsync(int port, double perSecond, int seconds, long start, double offsetSeconds, List<double> latencies,
        Action error, CancellationToken cancel)
    {
        byte[] request = "GET /small HTTP/1.1\r\nHost: perf\r\n\r\n"u8.ToArray();
        byte[] buffer = new byte[64 * 1024];
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port, cancel);
        int total = (int)(perSecond * seconds);
        for (int i = 0; i < total; i++)
        {
            long scheduled = start + (long)((offsetSeconds + i / perSecond) * Stopwatch.Frequency);
            long wait = scheduled - Stopwatch.GetTimestamp();
            if (wait > 0)
            {
                // Sleep most of the gap, spin the last millisecond: Task.Delay alone is 1-15 ms coarse.
                long ms = wait * 1000 / Stopwatch.Frequency;
                if (ms > 2) await Task.Delay((int)(ms - 1), cancel);
                while (Stopwatch.GetTimestamp() < scheduled) Thread.SpinWait(20);
            }
            try
            {
                await socket.SendAsync(request, SocketFlags.None, cancel);
                if (!await ReadResponseAsync(socket, buffer, cancel)) throw new IOException("bad response");
                latencies.Add((Stopwatch.GetTimestamp() - scheduled) * 1000.0 / Stopwatch.Frequency);
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
                error();
                return;
            }
        }
    }

    /// <summary>Reads one response whose body is Content-Length framed; true for a 200.</summary>
    private static async Task<bool> ReadResponseAsync(Socket socket, byte[] buffer, CancellationToken cancel)
    {
        int have = 0;
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(have), SocketFlags.None, cancel);
            if (n == 0) throw new IOException("closed");
            have += n;
            int headEnd = buffer.AsSpan(0, have).IndexOf("\r\n\r\n"u8);
            if (headEnd < 0) continue;
            string head = Encoding.ASCII.GetString(buffer, 0, headEnd);
            int at = head.IndexOf("content-length:", StringComparison.OrdinalIgnoreCase);
            if (at < 0) throw new IOException("no content-length");
            int eol = head.IndexOf('\r', at);
            int length = int.Parse(head.AsSpan(at + 15, (eol < 0 ? head.Length : eol) - at - 15).Trim(), CultureInfo.InvariantCulture);
            int need = headEnd + 4 + length;
            while (have < need)
            {
                n = await socket.ReceiveAsync(buffer.AsMemory(have), SocketFlags.None, cancel);
                if (n == 0) throw new IOException("closed");
                have += n;
            }
            return head.StartsWith("HTTP/1.1 200", StringComparison.Ordinal);
        }
    }
}
