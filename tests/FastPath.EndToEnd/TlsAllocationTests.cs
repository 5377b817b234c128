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
}
