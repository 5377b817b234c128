// Route retry policies against real origins that fail on purpose, counting the tries of each request: retry_on
// conditions (5xx, reset, connect-failure), attempts honoured, x-envoy-attempt-count, per-try and route timeouts,
// back-off, request bodies replayed (or not, past the buffer limit) and one response per request, always.
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class RetryFixture : IAsyncLifetime
{
    public ScriptedOrigin Origin { get; private set; } = null!;
    /// <summary>A second origin sharing the try log: retries that move between endpoints still count per request.</summary>
    public ScriptedOrigin Other { get; private set; } = null!;
    public GatewayProcess Gateway { get; private set; } = null!;
    public TryLog Log => Origin.Log;

    // What the origin does, by path and by the try number of the request.
    private static Reply Script(SeenTry t) => t.Path switch
    {
        "/always503" or "/backoff" or "/nobreaker" or "/bigpost" or "/sticky" => new Reply(503),
        "/flaky" or "/post" => t.Try == 1 ? new Reply(503) : new Reply(200),
        "/reset" => t.Try == 1 ? Reply.Reset : new Reply(200),
        "/closed" => t.Try < 3 ? Reply.Close : new Reply(200),
        "/error500" => new Reply(500),
        "/slowfirst" => t.Try == 1 ? new Reply(200, DelayMs: 5000) : new Reply(200),
        "/alwaysslow" => new Reply(200, DelayMs: 5000),
        // Trailers-only gRPC failures: HTTP 200 with grpc-status in the headers and no body.
        "/grpc-unavailable" => t.Try == 1 ? GrpcReply(14) : GrpcReply(0),
        "/grpc-internal" => GrpcReply(13),
        _ => new Reply(200),
    };

    private static Reply GrpcReply(int grpcStatus) =>
        new(200, " ", Headers: $"content-type: application/grpc\r\ngrpc-status: {grpcStatus}\r\ngrpc-message: try\r\n");

    public async Task InitializeAsync()
    {
        Origin = new ScriptedOrigin(Script);
        Other = new ScriptedOrigin(Script, Origin.Log);
        const string fast = "backoff: {base_interval: 1ms, max_interval: 2ms}";
        var yaml = new GatewayYaml()
            .Route("/always503", "origin", null, $"retries: {{attempts: 2, retry_on: 5xx, {fast}}}")
            .Route("/flaky", "origin", null, $"retries: {{attempts: 2, retry_on: gateway-error, {fast}}}")
            .Route("/reset", "origin", null, $"retries: {{attempts: 1, retry_on: reset, {fast}}}")
            .Route("/closed", "origin", null, $"retries: {{attempts: 3, retry_on: \"connect-failure,reset\", {fast}}}")
            .Route("/error500", "origin", null, $"retries: {{attempts: 3, retry_on: connect-failure, {fast}}}")
            .Route("/slowfirst", "origin", "10s", $"retries: {{attempts: 2, per_try_timeout: 300ms, retry_on: reset, {fast}}}")
            .Route("/alwaysslow", "origin", "1s", $"retries: {{attempts: 5, per_try_timeout: 400ms, retry_on: 5xx, {fast}}}")
            .Route("/backoff", "origin", "30s", "retries: {attempts: 10, retry_on: 5xx, backoff: {base_interval: 200ms, max_interval: 200ms}}")
            .Route("/post", "origin", null, $"retries: {{attempts: 2, retry_on: 5xx, {fast}}}")
            .Route("/bigpost", "origin", null, "per_request_buffer_limit_bytes: 1024", $"retries: {{attempts: 2, retry_on: 5xx, {fast}}}")
            .Route("/nobreaker", "no-retries", null, $"retries: {{attempts: 3, retry_on: 5xx, {fast}}}")
            .Route("/cf", "half-down", null, $"retries: {{attempts: 1, retry_on: connect-failure, {fast}}}")
            .Route("/allrefused", "refused", null, $"retries: {{attempts: 2, retry_on: connect-failure, {fast}}}")
            .Route("/sticky", "sticky", null, $"retries: {{attempts: 3, retry_on: 5xx, {fast}}}")
            .Route("/grpc-unavailable", "origin", null, $"retries: {{attempts: 2, retry_on: \"unavailable,cancelled\", {fast}}}")
            .Route("/grpc-internal", "origin", null, $"retries: {{attempts: 2, retry_on: \"unavailable,5xx\", {fast}}}")
            .Route("/", "origin")
            .Cluster("origin", [Origin.Address])
            .Cluster("no-retries", [Origin.Address], "circuit_breakers: {max_retries: 0}")
            .Cluster("half-down", [$"127.0.0.1:{Ports.GetClosed()}", Origin.Address], "connect_timeout: 2s")
            .Cluster("refused", [$"127.0.0.1:{Ports.GetClosed()}"], "connect_timeout: 2s")
            .Cluster("sticky", [Origin.Address, Other.Address], "lb_policy: ring_hash", "hash_policy: {header: x-user}");
        Gateway = await GatewayProcess.StartAsync(yaml, accessLog: true, lifetime: TimeSpan.FromMinutes(5));
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Origin.DisposeAsync();
        await Other.DisposeAsync();
    }
}

public sealed class RetryTests(RetryFixture fixture) : IClassFixture<RetryFixture>
{
    private readonly GatewayProcess _gateway = fixture.Gateway;
    private readonly TryLog _log = fixture.Log;

    private static string NewId() => Guid.NewGuid().ToString("N");

    private async Task<(RawResponse Response, string Id, TimeSpan Elapsed)> GetAsync(string route)
    {
        string id = NewId();
        var sw = Stopwatch.StartNew();
        RawResponse r = await RawHttpConnection.SendOnceAsync(_gateway.Port, RawHttpConnection.Get($"{route}?id={id}"), TimeSpan.FromSeconds(30));
        return (r, id, sw.Elapsed);
    }

    private Task<JsonElement> LogLineAsync(string route, string id) =>
        _gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == $"{route}?id={id}");

    [Fact(Timeout = 60_000)]
    public async Task Retry_Always503_AttemptsHonoured_LastResponseWithUrx()
    {
        (RawResponse r, string id, _) = await GetAsync("/always503");

        Assert.Equal(503, r.Status);
        Assert.Equal("try=3 status=503 bytes=0\n", r.BodyText); // the origin's own last response, not a local reply
        Assert.Equal(3, _log.Count(id));
        Assert.Equal(["1", "2", "3"], _log.For(id).Select(t => t.AttemptCount));
        JsonElement line = await LogLineAsync("/always503", id);
        Assert.Equal(503, line.GetProperty("status").GetInt32());
        Assert.Equal("URX", line.GetProperty("response_flags").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Retry_503Then200_ClientGets200_AttemptCountsOneTwo()
    {
        (RawResponse r, string id, _) = await GetAsync("/flaky");

        Assert.Equal(200, r.Status);
        Assert.Equal("2", r.Header("x-try"));
        Assert.Equal(["1", "2"], _log.For(id).Select(t => t.AttemptCount));
        JsonElement line = await LogLineAsync("/flaky", id);
        Assert.Equal("-", line.GetProperty("response_flags").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Retry_ResetBeforeHead_RetriedOnReset()
    {
        (RawResponse r, string id, _) = await GetAsync("/reset");

        Assert.Equal(200, r.Status);
        Assert.Equal(2, _log.Count(id));
    }

    [Fact(Timeout = 60_000)]
    public async Task Retry_ClosedTwice_ThirdTrySucceeds()
    {
        (RawResponse r, string id, _) = await GetAsync("/closed");

        Assert.Equal(200, r.Status);
        Assert.Equal(3, _log.Count(id));
        Assert.Equal(["1", "2", "3"], _log.For(id).Select(t => t.AttemptCount));
    }

    [Fact(Timeout = 60_000)]
    public async Task Retry_GrpcUnavailableInHeaders_RetriedOnUnavailable_SecondTryAnswers()
    {
        (RawResponse r, string id, _) = await GetAsync("/grpc-unavailable");

        Assert.Equal(200, r.Status);
        Assert.Equal("0", r.Header("grpc-status"));
        Assert.Equal(2, _log.Count(id));
        Assert.Equal(["1", "2"], _log.For(id).Select(t => t.AttemptCount));
    }

    [Fact(Timeout = 60_000)]
    public async Task Retry_GrpcStatusNotListed_NotRetried_EvenUnder5xx()
    {
        (RawResponse r, string id, _) = await GetAsync("/grpc-internal");

        // INTERNAL is not in "unavailable,5xx", and 5xx reads the HTTP status (200), never grpc-status.
        Assert.Equal(200, r.Status);
        Assert.Equal("13", r.Header("grpc-status"));
        Assert.Equal(1, _log.Count(id));
    }

    [Fact(Timeout = 60_000)]
    public async Task Retry_ConditionNotMatching_500NotRetried()
    {
        (RawResponse r, string id, _) = await GetAsync("/error500");

        Assert.Equal(500, r.Status);
        Assert.Equal(1, _log.Count(id));
        JsonElement line = await LogLineAsync("/error500", id);
        Assert.Equal("-", line.GetProperty("response_flags").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Retry_ConnectFailure_MovesToTheOtherEndpoint()
    {
        // Round robin sends every other first try to the closed port; the retry avoids it.
        for (int i = 0; i < 4; i++)
        {
            (RawResponse r, _, _) = await GetAsync("/cf");
            Assert.Equal(200, r.Status);
        }
        Assert.True(await StatAsync("fastpath_upstream_rq_retry_total", "half-down") >= 2);
    }

    [Fact(Timeout = 60_000)]
    public async Task Retry_ConnectFailureEveryTry_AttemptsHonoured_503UFWithUrx()
    {
        double before = await StatAsync("fastpath_upstream_rq_retry_total", "refused");
        (RawResponse r, string id, _) = await GetAsync("/allrefused");

        Assert.Equal(503, r.Status);
        Assert.Equal("upstream connect error\n", r.BodyText);
        JsonElement line = await LogLineAsync("/allrefused", id);
        Assert.Equal("UF,URX", line.GetProperty("response_flags").GetString());
        Assert.Equal(2, await StatAsync("fastpath_upstream_rq_retry_total", "refused") - before);
    }

    [Fact(Timeout = 60_000)]
    public async Task Retry_ConsistentHashPinsOneEndpoint_EachRetryMovesToTheOther()
    {
        // ring_hash sends every try keyed "alice" to one endpoint; a retry avoids the endpoint that just failed.
        string id = NewId();
        RawResponse r = await RawHttpConnection.SendOnceAsync(_gateway.Port,
            RawHttpConnection.Get($"/sticky?id={id}", "x-user: alice"), TimeSpan.FromSeconds(30));

        Assert.Equal(503, r.Status);
        int[] ports = [.. _log.For(id).Select(t => t.OriginPort)];
        Assert.Equal(4, ports.Length);
        for (int i = 1; i < ports.Length; i++) Assert.NotEqual(ports[i - 1], ports[i]);
    }

    [Fact(Timeout = 60_000)]
    public async Task PerTryTimeout_FirstTryStalls_SecondTryAnswers()
    {
        (RawResponse r, string id, TimeSpan elapsed) = await GetAsync("/slowfirst");

        Assert.Equal(200, r.Status);
        Assert.Equal("2", r.Header("x-try"));
        Assert.True(elapsed < TimeSpan.FromSeconds(4), $"took {elapsed.TotalMilliseconds:0} ms; the stalled try lasts 5 s");
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(250), $"took {elapsed.TotalMilliseconds:0} ms; the per-try timeout is 300 ms");
    }

    [Fact(Timeout = 60_000)]
    public async Task RouteTimeout_SpansAllTries_504UT()
    {
        (RawResponse r, string id, TimeSpan elapsed) = await GetAsync("/alwaysslow");

        Assert.Equal(504, r.Status);
        Assert.Equal("upstream request timeout\n", r.BodyText);
        // 1 s route timeout over 400 ms tries: two or three tries, never the six that attempts allow.
        Assert.InRange(_log.Count(id), 2, 3);
        Assert.InRange(elapsed.TotalMilliseconds, 900, 4000);
        JsonElement line = await LogLineAsync("/alwaysslow", id);
        Assert.Contains("UT", line.GetProperty("response_flags").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Backoff_WaitsBetweenTries()
    {
        // Ten retries, each after a full-jitter draw from [0, 200 ms): 1 s expected (sd 0.18 s), so at least 300 ms
        // unless the draws are wildly improbable (< 1e-4), and at most 10 x 200 ms plus the tries themselves.
        (RawResponse r, string id, TimeSpan elapsed) = await GetAsync("/backoff");

        Assert.Equal(503, r.Status);
        Assert.Equal(11, _log.Count(id));
        Assert.InRange(elapsed.TotalMilliseconds, 300, 8000);
    }

    [Fact(Timeout = 60_000)]
    public async Task MaxRetriesZero_NothingRetried_FailureAsIs()
    {
        (RawResponse r, string id, _) = await GetAsync("/nobreaker");

        Assert.Equal(503, r.Status);
        Assert.Equal(1, _log.Count(id));
        JsonElement line = await LogLineAsync("/nobreaker", id);
        Assert.Equal("-", line.GetProperty("response_flags").GetString());
        Assert.True(await StatAsync("fastpath_upstream_rq_retry_overflow_total", "no-retries") >= 1);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(10)]
    [InlineData(40_000)]
    public async Task Post_SmallBody_RetriedWithTheWholeBody(int size)
    {
        string id = NewId();
        byte[] body = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, size).Select(i => (char)('a' + i % 26))));
        await using RawHttpConnection c = await RawHttpConnection.ConnectAsync(_gateway.Port);
        await c.SendAsync($"POST /post?id={id} HTTP/1.1\r\nHost: x\r\nContent-Length: {body.Length}\r\n\r\n");
        await c.SendAsync(body);
        RawResponse r = await c.ReadResponseAsync();

        Assert.Equal(200, r.Status);
        Assert.Equal($"try=2 status=200 bytes={size}\n", r.BodyText);
        IReadOnlyList<SeenTry> tries = _log.For(id);
        Assert.Equal(2, tries.Count);
        Assert.All(tries, t => Assert.Equal(body, t.Body));
    }

    [Fact(Timeout = 60_000)]
    public async Task Post_ChunkedBodyWithTrailers_RetriedWithTheWholeBody()
    {
        string id = NewId();
        await using RawHttpConnection c = await RawHttpConnection.ConnectAsync(_gateway.Port);
        await c.SendAsync($"POST /post?id={id} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                          + "5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: 42\r\n\r\n");
        RawResponse r = await c.ReadResponseAsync();

        Assert.Equal(200, r.Status);
        Assert.Equal("try=2 status=200 bytes=11\n", r.BodyText);
        Assert.All(_log.For(id), t => Assert.Equal("hello world", Encoding.ASCII.GetString(t.Body)));
        Assert.Equal(2, _log.Count(id));
    }

    [Fact(Timeout = 60_000)]
    public async Task Post_BodyOverBufferLimit_NotRetried()
    {
        string id = NewId();
        await using RawHttpConnection c = await RawHttpConnection.ConnectAsync(_gateway.Port);
        await c.SendAsync($"POST /bigpost?id={id} HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n");
        await c.SendAsync(new byte[4096]);
        RawResponse r = await c.ReadResponseAsync();

        Assert.Equal(503, r.Status);
        Assert.Equal(1, _log.Count(id));
        Assert.Equal(4096, _log.For(id)[0].Body.Length);
    }

    [Fact(Timeout = 60_000)]
    public async Task KeepAlive_RetriedRequestThenNext_OneResponseEach()
    {
        string first = NewId(), second = NewId();
        await using RawHttpConnection c = await RawHttpConnection.ConnectAsync(_gateway.Port);

        RawResponse r1 = await c.RoundTripAsync(RawHttpConnection.Get($"/flaky?id={first}"));
        RawResponse r2 = await c.RoundTripAsync(RawHttpConnection.Get($"/ok?id={second}"));

        Assert.Equal(200, r1.Status);
        Assert.Equal("try=2 status=200 bytes=0\n", r1.BodyText);
        Assert.Equal(200, r2.Status);
        Assert.Equal("try=1 status=200 bytes=0\n", r2.BodyText);
        // Nothing else arrives: the dropped 503 never reached the client.
        Assert.False(await c.IsClosedByPeerAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal(0, c.Socket.Available);
    }

    [Fact(Timeout = 60_000)]
    public async Task ClientAttemptCountHeader_ReplacedByTheProxys()
    {
        string id = NewId();
        RawResponse r = await RawHttpConnection.SendOnceAsync(_gateway.Port,
            RawHttpConnection.Get($"/flaky?id={id}", "x-envoy-attempt-count: 99"), TimeSpan.FromSeconds(30));

        Assert.Equal(200, r.Status);
        Assert.Equal(["1", "2"], _log.For(id).Select(t => t.AttemptCount));
    }

    [Fact(Timeout = 60_000)]
    public async Task NoPolicy_NoAttemptCountHeader_NoRetry()
    {
        (RawResponse r, string id, _) = await GetAsync("/plain");

        Assert.Equal(200, r.Status);
        Assert.Null(Assert.Single(_log.For(id)).AttemptCount);
    }

    private async Task<double> StatAsync(string metric, string cluster)
    {
        (_, string text) = await _gateway.AdminGetAsync("/stats/prometheus");
        foreach (string line in text.Split('\n'))
            if (line.StartsWith(metric + "{", StringComparison.Ordinal) && line.Contains($"cluster=\"{cluster}\"", StringComparison.Ordinal))
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        return 0;
    }
}
