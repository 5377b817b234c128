// Connection reuse on both hops: one client connection carries many requests, the upstream pool reuses one origin
// connection for them, and pipelined requests are answered in order (RFC 9112 §9.3.2).
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class KeepAliveTests
{
    [Fact(Timeout = 60_000)]
    public async Task ConnectionClose_LargeResponse_SlowReader_GetsEveryByteThenAnOrderlyEnd()
    {
        // The gateway hands the last bytes to its kernel and closes the connection while a slow client still has
        // megabytes to read. The close must be orderly (FIN after the data): an abortive one (SO_LINGER 0, a reset)
        // drops what the kernel still held for the client.
        const int bodyBytes = 8 * 1024 * 1024;
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address));
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 8 * 1024 };
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, gateway.Port));
        await client.SendAsync(Encoding.ASCII.GetBytes($"GET /download?bytes={bodyBytes} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"));

        byte[] buffer = new byte[16 * 1024];
        long total = 0;
        int headEnd = -1;
        var head = new MemoryStream();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(45));
        while (true)
        {
            int n = await client.ReceiveAsync(buffer, SocketFlags.None, limit.Token); // a reset throws here
            if (n == 0) break;
            if (headEnd < 0)
            {
                head.Write(buffer, 0, n);
                headEnd = head.ToArray().AsSpan().IndexOf("\r\n\r\n"u8);
                if (headEnd >= 0) total = head.Length - (headEnd + 4);
            }
            else total += n;
            if (total % (512 * 1024) < n) await Task.Delay(20); // read slowly: the gateway's send buffer stays full
        }
        string headText = Encoding.ASCII.GetString(head.ToArray(), 0, Math.Max(headEnd, 0));
        Assert.StartsWith("HTTP/1.1 200", headText);
        Assert.Contains("connection: close", headText, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(bodyBytes, total);
    }

    [Fact(Timeout = 60_000)]
    public async Task SequentialRequests_OneClientConnection_OriginSeesOneConnection()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        for (int i = 0; i < 200; i++)
        {
            RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get($"/seq?i={i}"));
            Assert.Equal(200, r.Status);
            Assert.Equal($"origin=a GET /seq?i={i}\n", r.BodyText);
            Assert.False(r.ConnectionClose, $"request {i} closed the client connection:\n{r}");
        }

        Assert.Equal(200, origin.RequestCount);
        Assert.Equal(1, origin.ConnectionCount);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MaxRequestsPerConnection_UpstreamConnectionRetiredAfterN_ClientConnectionKept(bool http2)
    {
        // Envoy's max_requests_per_connection (Istio's maxRequestsPerConnection): 6 requests, 2 per upstream
        // connection, so the origin sees 3 connections, each carrying two consecutive requests; HTTP/1.1 closes the
        // retired connection, HTTP/2 opens no more streams on it and closes it with GOAWAY once its streams end.
        await using OriginServer origin = await OriginServer.StartAsync("a", http2);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main")
            .Cluster("main", [origin.Address], "max_requests_per_connection: 2", http2 ? "protocol: http2" : "protocol: http1"));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        for (int i = 0; i < 6; i++)
        {
            RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get($"/retire?i={i}"));
            Assert.Equal(200, r.Status);
            Assert.False(r.ConnectionClose, $"request {i} closed the client connection:\n{r}");
        }

        Assert.Equal(3, origin.ConnectionCount);
        string[] connections = [.. Enumerable.Range(0, 6).Select(i => origin.Requests.Single(q => q.PathAndQuery == $"/retire?i={i}").ConnectionId)];
        Assert.Equal(3, connections.Distinct().Count());
        for (int i = 0; i < 6; i += 2) Assert.Equal(connections[i], connections[i + 1]);
    }

    [Fact(Timeout = 60_000)]
    public async Task Curl_SeveralUrlsInOneInvocation_ReusesDownstreamConnection()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address));

        string[] urls = [.. Enumerable.Range(1, 5).Select(i => gateway.Url($"/curl/{i}").ToString())];
        // %{num_connects} is the number of new connections a transfer made: 0 means it reused one.
        ToolResult curl = await ExternalTool.CurlAsync(["-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
            "-w", "connects=%{num_connects} code=%{http_code}\\n", .. urls]);

        Assert.True(curl.ExitCode == 0, curl.ToString());
        MatchCollection lines = Regex.Matches(curl.Stdout, @"connects=(\d+) code=(\d+)");
        Assert.Equal(5, lines.Count);
        Assert.All(lines, m => Assert.Equal("200", m.Groups[2].Value));
        Assert.Equal(["1", "0", "0", "0", "0"], lines.Select(m => m.Groups[1].Value).ToArray());
        Assert.Equal(5, origin.RequestCount);
        Assert.Equal(1, origin.ConnectionCount);

        (_, string stats) = await gateway.AdminGetAsync("/stats/prometheus");
        Assert.Matches(@"(?m)^fastpath_downstream_connections_total 1$", stats);
    }

    [Fact(Timeout = 60_000)]
    public async Task Pipelining_FiveRequestsInOneSend_FiveResponsesInOrder()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        string batch = string.Concat(Enumerable.Range(1, 5).Select(i => RawHttpConnection.Get($"/pipe?i={i}")));
        await client.SendAsync(batch);

        for (int i = 1; i <= 5; i++)
        {
            RawResponse r = await client.ReadResponseAsync();
            Assert.Equal(200, r.Status);
            Assert.Equal($"origin=a GET /pipe?i={i}\n", r.BodyText);
        }
        // The connection is still usable afterwards.
        RawResponse after = await client.RoundTripAsync(RawHttpConnection.Get("/pipe?i=6"));
        Assert.Equal("origin=a GET /pipe?i=6\n", after.BodyText);
        Assert.Equal(6, origin.RequestCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task Pipelining_RoutedRequestsAndLocalRepliesMixed_AnsweredInOrder()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/app", "main").Cluster("main", origin.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        await client.SendAsync(RawHttpConnection.Get("/app/1") + RawHttpConnection.Get("/nowhere") + RawHttpConnection.Get("/app/2")
                               + "HEAD /app/3 HTTP/1.1\r\nHost: localhost\r\n\r\n" + RawHttpConnection.Get("/app/4"));

        RawResponse first = await client.ReadResponseAsync();
        RawResponse noRoute = await client.ReadResponseAsync();
        RawResponse second = await client.ReadResponseAsync();
        RawResponse head = await client.ReadResponseAsync(requestWasHead: true);
        RawResponse fourth = await client.ReadResponseAsync();
        Assert.Equal("origin=a GET /app/1\n", first.BodyText);
        Assert.Equal(404, noRoute.Status);
        Assert.Equal("origin=a GET /app/2\n", second.BodyText);
        Assert.Equal(200, head.Status);
        Assert.Equal("origin=a GET /app/4\n", fourth.BodyText);
    }

    [Fact(Timeout = 60_000)]
    public async Task PipelinedPostsWithBodies_EachBodyReachesItsRequest()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        string Post(string body) => $"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: {body.Length}\r\n\r\n{body}";
        string Chunked(string body) => $"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n{body.Length:x}\r\n{body}\r\n0\r\n\r\n";
        await client.SendAsync(Post("first body") + Chunked("second, chunked") + Post("") + Post("fourth"));

        Assert.Equal("first body", (await client.ReadResponseAsync()).BodyText);
        Assert.Equal("second, chunked", (await client.ReadResponseAsync()).BodyText);
        Assert.Equal("", (await client.ReadResponseAsync()).BodyText);
        Assert.Equal("fourth", (await client.ReadResponseAsync()).BodyText);
        Assert.Equal(4, origin.RequestCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task Head_ThenGet_OnSameConnection_NoBodyExpectedForHead()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        RawResponse head = await client.RoundTripAsync($"HEAD /download?bytes=5000 HTTP/1.1\r\nHost: localhost\r\n\r\n");
        RawResponse get = await client.RoundTripAsync(RawHttpConnection.Get("/after-head"));

        Assert.Equal(200, head.Status);
        Assert.Equal("5000", head.Header("content-length"));
        Assert.Empty(head.Body);
        Assert.Equal("origin=a GET /after-head\n", get.BodyText);
        Assert.Equal(1, origin.ConnectionCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task Http10Client_KeepAliveRequested_KeptWhileBodiesHaveLength_ClosedForChunkedOrigin()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        // /download answers with Content-Length, which an HTTP/1.0 client can delimit: the connection is kept.
        for (int i = 0; i < 3; i++)
        {
            RawResponse r = await client.RoundTripAsync($"GET /download?bytes={16 + i} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            Assert.Equal(200, r.Status);
            Assert.Equal(16 + i, r.Body.Length);
            Assert.Equal("keep-alive", r.Header("connection"));
        }
        // Without a Host field, the origin gets the endpoint as authority.
        Assert.Equal(origin.Address, origin.LastRequest?.Header("host"));

        // A chunked origin response cannot be re-chunked for HTTP/1.0: it is sent close-delimited, ending the connection.
        RawResponse last = await client.RoundTripAsync("GET /chunked-origin HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        Assert.Equal(200, last.Status);
        Assert.Equal("origin=a GET /chunked-origin\n", last.BodyText);
        Assert.Null(last.Header("transfer-encoding"));
        Assert.True(await client.IsClosedByPeerAsync(TimeSpan.FromSeconds(3)), "a close-delimited response must end the connection");
        Assert.Equal(1, origin.ConnectionCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task OriginClosesEveryConnectionAfterResponse_WithoutSayingSo_GetsStillSucceed()
    {
        // The origin answers as keep-alive but closes at once: the pooled connection the gateway keeps is dead by the
        // time the next request needs it (an origin's idle timeout racing a new request).
        await using var origin = new RawOrigin(async c =>
        {
            if (await c.ReadHeadAsync() is null) return;
            await c.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            c.Close();
        });
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "raw").Cluster("raw", origin.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        for (int i = 0; i < 50; i++)
        {
            RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get($"/flaky/{i}"));
            Assert.True(r.Status == 200, $"request {i}:\n{r}");
            Assert.Equal("ok", r.BodyText);
        }
        Assert.True(origin.ConnectionCount >= 50, $"each request needs a fresh origin connection; origin saw {origin.ConnectionCount}");
    }

    [Fact(Timeout = 60_000)]
    public async Task OriginSendsConnectionClose_UpstreamNotReused_ClientConnectionKept()
    {
        await using var origin = new RawOrigin(async c =>
        {
            if (await c.ReadHeadAsync() is null) return;
            await c.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfresh");
            c.Close();
        });
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "raw").Cluster("raw", origin.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        for (int i = 0; i < 10; i++)
        {
            RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get($"/once/{i}"));
            Assert.Equal(200, r.Status);
            Assert.Equal("fresh", r.BodyText);
            Assert.False(r.ConnectionClose, "the origin's Connection: close is hop-by-hop: the client connection stays");
        }
        Assert.Equal(10, origin.ConnectionCount);
    }
}
