// The request path allocates nothing per request in steady state, and a retry policy, circuit breakers and the
// body replay buffer keep it that way: measured in the gateway process itself (fastpath_gc_allocated_bytes_total)
// over thousands of keep-alive requests, after a warm-up.
using System.Globalization;
using System.Text.RegularExpressions;
using FastPath.EndToEnd.Testing;
using Xunit.Abstractions;

namespace FastPath.EndToEnd;

public sealed class RetryAllocationTests(ITestOutputHelper output)
{
    private const int Warmup = 3000;
    private const int Measured = 10_000;

    [Fact(Timeout = 180_000)]
    public async Task RetryPolicyRoute_SteadyState_NoAllocationPerRequest()
    {
        await using var origin = new ScriptedOrigin(_ => new Reply(200, "ok"));
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .Route("/retry", "main", null, "retries: {attempts: 2, retry_on: \"5xx,reset,connect-failure\"}")
            .Route("/", "main")
            .Cluster("main", [origin.Address], "circuit_breakers: {max_requests: 100000}", "retry_budget: {budget_percent: 20}"));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        double plainGet = await BytesPerRequestAsync(gateway, client, RawHttpConnection.Get("/plain"));
        double retryGet = await BytesPerRequestAsync(gateway, client, RawHttpConnection.Get("/retry"));
        string body = "Content-Length: 1000\r\n\r\n" + new string('b', 1000);
        double plainPost = await BytesPerRequestAsync(gateway, client, "POST /plain HTTP/1.1\r\nHost: x\r\n" + body);
        double retryPost = await BytesPerRequestAsync(gateway, client, "POST /retry HTTP/1.1\r\nHost: x\r\n" + body);
        output.WriteLine($"bytes/request: GET no policy {plainGet:0.0}, GET with policy {retryGet:0.0}, "
                         + $"POST 1 KB no policy {plainPost:0.0}, POST 1 KB with policy {retryPost:0.0}");

        // A few bytes of slack per request cover the scrape itself and per-thread allocation-context granularity.
        Assert.True(retryGet <= plainGet + 16, $"GET with a retry policy allocates {retryGet:0.0} B/request vs {plainGet:0.0} without");
        // A body is copied by its own task (Http1BodyCopier), with or without a policy; the replay buffer adds nothing.
        Assert.True(retryPost <= plainPost + 16, $"POST with a retry policy allocates {retryPost:0.0} B/request vs {plainPost:0.0} without");
    }

    private static async Task<double> BytesPerRequestAsync(GatewayProcess gateway, RawHttpConnection client, string request)
    {
        for (int i = 0; i < Warmup; i++) Assert.Equal(200, (await client.RoundTripAsync(request)).Status);
        double before = await AllocatedAsync(gateway);
        for (int i = 0; i < Measured; i++) Assert.Equal(200, (await client.RoundTripAsync(request)).Status);
        double after = await AllocatedAsync(gateway);
        return (after - before) / Measured;
    }

    private static async Task<double> AllocatedAsync(GatewayProcess gateway)
    {
        (_, string text) = await gateway.AdminGetAsync("/stats/prometheus");
        Match m = Regex.Match(text, @"(?m)^fastpath_gc_allocated_bytes_total (\S+)$");
        Assert.True(m.Success, "no allocation counter in the stats");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
