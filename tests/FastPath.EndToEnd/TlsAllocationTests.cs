// What a keep-alive request over a TLS-terminated connection allocates in the real gateway once warm, measured as
// HttpFilterAllocationTests does (the process's allocation counter over thousands of requests, less a quiet period
// of the same admin scrapes). FastPath's own TLS path allocates nothing per request: measured 0-10 B/request when
// the downstream and upstream reads complete on one I/O thread. When they complete on different threads, the
// pooled async boxes inside SslStream and the pipe adapters are rented on one thread and returned on the other, so
// the per-thread pools miss: ~630-690 B/request in those runs. The bound fails on anything added beyond that (a
// Task or an unpooled state machine per read or flush in the adapters each pushed it higher while measuring).
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class TlsAllocationTests
{
    private const int Requests = 5000;

    [Fact(Timeout = 120_000)]
    public async Task TlsKeepAliveRequests_AllocateUnder1KiBPerRequest()
    {
        using var pki = new TestPki();
        Issued cert = pki.Issue("edge", ["edge.example.com"]);
        await using OriginServer origin = await OriginServer.StartAsync("a");
        var yaml = new GatewayYaml().Route("/", "main").Cluster("main", origin.Address);
        yaml.ListenerYaml.AddRange(["tls:", $"  certificates: [{{cert_file: {cert.CertFile}, key_file: {cert.KeyFile}}}]"]);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(100));
        await using TlsClient client = await TlsClient.ConnectAsync(gateway.Port, "edge.example.com", pki.CaFile, cancel: cts.Token);

        for (int i = 0; i < 5000; i++) Assert.Equal(200, (await client.GetAsync("/plain", "edge.example.com", cts.Token)).Status);   // warm: JIT tiers, pools
        double quiet = await HttpFilterAllocationTests.AllocatedAsync(gateway);
        double quietEnd = await HttpFilterAllocationTests.AllocatedAsync(gateway);
        double before = await HttpFilterAllocationTests.AllocatedAsync(gateway);
        for (int i = 0; i < Requests; i++) Assert.Equal(200, (await client.GetAsync("/plain", "edge.example.com", cts.Token)).Status);
        double after = await HttpFilterAllocationTests.AllocatedAsync(gateway);

        double perRequest = (after - before - (quietEnd - quiet)) / Requests;
        Assert.True(perRequest < 1024, $"{perRequest:F1} B/request (quiet scrape {quietEnd - quiet} B, run {after - before} B)");
    }

    [Fact(Timeout = 120_000)]
    public async Task TlsKeepAliveRequests_On48ConnectionsAtOnce_StayWellUnderSslStreamsPerReadBoxes()
    {
        // With many connections waiting at once, SslStream's own zero-byte read left three async state machines
        // pending per wait and none of their pools could keep up: ~620 B/request under wrk -c50 (2026-11-27). The
        // wait now happens in DuplexPipeStream on a reusable source when SslStream holds nothing; what remains (about
        // 200 B/request under wrk) is the pipe reader's own pending read.
        const int Connections = 48, PerConnection = 100;
        using var pki = new TestPki();
        Issued cert = pki.Issue("edge", ["edge.example.com"]);
        await using OriginServer origin = await OriginServer.StartAsync("a");
        var yaml = new GatewayYaml().Route("/", "main").Cluster("main", origin.Address);
        yaml.ListenerYaml.AddRange(["tls:", $"  certificates: [{{cert_file: {cert.CertFile}, key_file: {cert.KeyFile}}}]"]);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(100));
        var clients = new TlsClient[Connections];
        for (int i = 0; i < Connections; i++) clients[i] = await TlsClient.ConnectAsync(gateway.Port, "edge.example.com", pki.CaFile, cancel: cts.Token);
        async Task RoundAsync() => await Task.WhenAll(clients.Select(async c =>
        {
            for (int i = 0; i < PerConnection; i++) Assert.Equal(200, (await c.GetAsync("/plain", "edge.example.com", cts.Token)).Status);
        }));
        try
        {
            await RoundAsync(); // warm: JIT tiers, pools grown to this concurrency
            await RoundAsync();
            double quiet = await HttpFilterAllocationTests.AllocatedAsync(gateway);
            double quietEnd = await HttpFilterAllocationTests.AllocatedAsync(gateway);
            double before = await HttpFilterAllocationTests.AllocatedAsync(gateway);
            await RoundAsync();
            double after = await HttpFilterAllocationTests.AllocatedAsync(gateway);
            double perRequest = (after - before - (quietEnd - quiet)) / (Connections * PerConnection);
            Assert.True(perRequest < 400, $"{perRequest:F1} B/request (quiet scrape {quietEnd - quiet} B, run {after - before} B)");
        }
        finally
        {
            foreach (TlsClient c in clients) await c.DisposeAsync();
        }
    }
}
