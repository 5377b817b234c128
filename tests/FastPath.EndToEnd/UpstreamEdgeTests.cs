// Hostile or unusual origins, scripted byte by byte: ambiguous framing and oversized heads are refused (502 UPE),
// slow bodies are cut at the route timeout, stalled ones by the stream idle timeout, an origin that
// answers before reading the body is relayed, and HTTP/1.0 clients get bodies they can delimit.
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class UpstreamEdgeTests
{
    private static Task<GatewayProcess> StartAsync(RawOrigin origin, string? routeTimeout = null, params (string Key, string Value)[] limits)
    {
        var yaml = new GatewayYaml().Route("/", "raw", routeTimeout).Cluster("raw", origin.Address);
        foreach ((string k, string v) in limits) yaml.Limit(k, v);
        return GatewayProcess.StartAsync(yaml, accessLog: true);
    }

    /// <summary>Answers at once with a 10-byte body sent one byte every <paramref name="gapMs"/> ms.</summary>
    private static RawOrigin TrickleOrigin(int gapMs) => new(async c =>
    {
        if (await c.ReadHeadAsync() is null) return;
        await c.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
        for (int i = 0; i < 10; i++)
        {
            await Task.Delay(gapMs, c.Token);
            await c.WriteAsync(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        await Task.Delay(200, c.Token);
    });

    private static Func<RawOriginConnection, Task> Answer(string response) => async c =>
    {
        if (await c.ReadHeadAsync() is null) return;
        await c.WriteAsync(response);
        await Task.Delay(200, c.Token);
    };

    [Fact(Timeout = 60_000)]
    public async Task ResponseWithContentLengthAndTransferEncoding_502_UPE()
    {
        await using var origin = new RawOrigin(Answer(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
        await using GatewayProcess gateway = await StartAsync(origin);

        RawResponse r = await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/smuggle"));

        Assert.Equal(502, r.Status);
        JsonElement log = await gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == "/smuggle");
        Assert.Equal("UPE", log.GetProperty("response_flags").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task ResponseHeadOver60KiB_502_UPE()
    {
        await using var origin = new RawOrigin(Answer(
            "HTTP/1.1 200 OK\r\n" + string.Concat(Enumerable.Range(0, 35).Select(i => $"X-Big-{i}: {new string('v', 2048)}\r\n")) +
            "Content-Length: 2\r\n\r\nok"));
        await using GatewayProcess gateway = await StartAsync(origin);

        RawResponse r = await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/huge-head"));

        Assert.Equal(502, r.Status);
        JsonElement log = await gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == "/huge-head");
        Assert.Equal("UPE", log.GetProperty("response_flags").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task HeadArrivesInTime_BodyTricklesPastRouteTimeout_ResponseCutAtTheDeadline_UT()
    {
        // The route timeout runs until the response is complete (Envoy: "until the upstream response has been
        // completely processed"), not only until its head: a body that trickles past it is cut there, UT, although no
        // gap between its bytes reaches the stream idle timeout. (Long-lived streams use timeout: 0.)
        await using RawOrigin origin = TrickleOrigin(250);
        await using GatewayProcess gateway = await StartAsync(origin, routeTimeout: "1s");
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
        client.Timeout = TimeSpan.FromSeconds(8);

        var sw = Stopwatch.StartNew();
        await client.SendAsync(RawHttpConnection.Get("/trickle"));
        await Assert.ThrowsAsync<EndOfStreamException>(() => client.ReadResponseAsync()); // head, part of the body, close

        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(2.4));
        JsonElement log = await gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == "/trickle");
        Assert.Equal("UT", log.GetProperty("response_flags").GetString());
        Assert.InRange(log.GetProperty("bytes_sent").GetInt64(), 1, 9);
    }

    [Fact(Timeout = 60_000)]
    public async Task HeadArrivesInTime_BodyTricklesWithinRouteTimeout_WholeBodyDelivered()
    {
        // The same trickle with room to finish: the deadline is the route timeout, not a gap between body bytes.
        await using RawOrigin origin = TrickleOrigin(100);
        await using GatewayProcess gateway = await StartAsync(origin, routeTimeout: "5s");

        RawResponse r = await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/trickle"), TimeSpan.FromSeconds(10));

        Assert.Equal(200, r.Status);
        Assert.Equal("0123456789", r.BodyText);
    }

    [Fact(Timeout = 60_000)]
    public async Task BodyStallsPastStreamIdleTimeout_ClientConnectionClosedEarly_SI()
    {
        await using var origin = new RawOrigin(async c =>
        {
            if (await c.ReadHeadAsync() is null) return;
            await c.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
            await Task.Delay(10_000, c.Token); // never sends the other 90 bytes
        });
        await using GatewayProcess gateway = await StartAsync(origin, null, ("stream_idle_timeout", "1s"));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
        client.Timeout = TimeSpan.FromSeconds(8);

        var sw = Stopwatch.StartNew();
        await client.SendAsync(RawHttpConnection.Get("/stall"));
        await Assert.ThrowsAsync<EndOfStreamException>(() => client.ReadResponseAsync());

        Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(4));
        JsonElement log = await gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == "/stall");
        Assert.Equal("SI", log.GetProperty("response_flags").GetString());
        Assert.Equal(10, log.GetProperty("bytes_sent").GetInt64());
    }

    [Fact(Timeout = 60_000)]
    public async Task Http10Client_ChunkedOriginResponse_DeliveredCloseDelimited()
    {
        await using var origin = new RawOrigin(Answer(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n"));
        await using GatewayProcess gateway = await StartAsync(origin);
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        RawResponse r = await client.RoundTripAsync("GET /old-client HTTP/1.0\r\nHost: localhost\r\n\r\n");

        Assert.Equal(200, r.Status);
        Assert.Null(r.Header("transfer-encoding")); // HTTP/1.0 has no chunked coding (RFC 9112 §6.1)
        Assert.Equal("hello world", r.BodyText);
    }

    [Fact(Timeout = 60_000)]
    public async Task OriginAnswers413BeforeReadingBody_ClientGets413_ConnectionClosed()
    {
        await using var origin = new RawOrigin(async c =>
        {
            if (await c.ReadHeadAsync() is null) return;
            await c.WriteAsync("HTTP/1.1 413 Content Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large");
            c.Close();
        });
        await using GatewayProcess gateway = await StartAsync(origin);
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        await client.SendAsync("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10000000\r\n\r\n");
        await client.SendAsync(new byte[64 * 1024]);
        RawResponse r = await client.ReadResponseAsync();

        Assert.Equal(413, r.Status);
        Assert.Equal("too large", r.BodyText);
        Assert.True(r.ConnectionClose, $"the unread rest of the body cannot be told from a next request:\n{r}");
        Assert.True(await client.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)), "the gateway kept a connection with an unread body open");
    }

    [Fact(Timeout = 60_000)]
    public async Task UploadSlowerThanRouteTimeout_OriginAnswersAfterBody_Succeeds()
    {
        // The route timeout bounds the wait for the origin's answer, not the client's upload: Envoy starts it once
        // the downstream request is complete. A 2.5 s upload under a 1 s route timeout must still succeed.
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(
            new GatewayYaml().Route("/", "main", timeout: "1s").Cluster("main", origin.Address), accessLog: true);
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        const int pieces = 10, pieceBytes = 32 * 1024;
        await client.SendAsync($"POST /count HTTP/1.1\r\nHost: localhost\r\nContent-Length: {pieces * pieceBytes}\r\n\r\n");
        Task<RawResponse> response = client.ReadResponseAsync();
        for (int i = 0; i < pieces && !response.IsCompleted; i++)
        {
            await client.SendAsync(Encoding.ASCII.GetBytes(new string((char)('a' + i), pieceBytes)));
            await Task.Delay(250);
        }
        RawResponse r = await response;

        Assert.True(r.Status == 200, $"a slow upload was cut off by the route timeout:\n{r}");
        Assert.Equal($"origin=a bytes={pieces * pieceBytes}\n", r.BodyText);
    }
}
