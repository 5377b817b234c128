// gRPC end to end: a real Grpc.AspNetCore service called with Grpc.Net.Client, directly and through the gateway
// (HTTP/2 with prior knowledge both sides: client -> FastPath -> HTTP/2 cluster -> Kestrel). The direct run is the
// baseline each proxied case must equal; proxy-only cases check what the proxy itself adds: grpc-timeout as the
// route timeout, trailers-only errors, retries on grpc-status, metadata both ways.
using System.Net;
using System.Net.Http;
using FastPath.EndToEnd.Grpc;
using FastPath.EndToEnd.Testing;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace FastPath.EndToEnd;

public sealed class GrpcFixture : IAsyncLifetime
{
    public GrpcOrigin Origin { get; private set; } = null!;
    public GatewayProcess Gateway { get; private set; } = null!;
    /// <summary>An origin that takes the request and never answers (it does not know grpc-timeout).</summary>
    public RawOrigin Silent { get; private set; } = null!;
    /// <summary>An origin that answers at once, then streams an empty gRPC message every 100 ms for ~10 s and that,
    /// like Silent, does not enforce grpc-timeout itself (a real server would race the proxy to the deadline).</summary>
    public RawOrigin Trickle { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Origin = await GrpcOrigin.StartAsync("g1");
        Silent = new RawOrigin(async c =>
        {
            await c.ReadHeadAsync();
            await Task.Delay(TimeSpan.FromSeconds(30), c.Token);
        });
        Trickle = new RawOrigin(async c =>
        {
            await c.ReadHeadAsync();
            await c.WriteAsync("HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntransfer-encoding: chunked\r\n\r\n");
            for (int i = 0; i < 100; i++)
            {
                await c.WriteAsync("5\r\n\0\0\0\0\0\r\n");
                await Task.Delay(100, c.Token);
            }
            await c.WriteAsync("0\r\ngrpc-status: 0\r\n\r\n");
        });
        const string fast = "backoff: {base_interval: 1ms, max_interval: 2ms}";
        Gateway = await GatewayProcess.StartAsync(new GatewayYaml()
            .RawRoute("match: {prefix: /fastpath.test.Echo/Unary, headers: [{name: x-retry, present: true}]}\ncluster: grpc\n"
                      + $"retries: {{attempts: 3, retry_on: \"unavailable,cancelled\", {fast}}}")
            .RawRoute("match: {prefix: /fastpath.test.Echo/, headers: [{name: x-slow-route, present: true}]}\ncluster: grpc\ntimeout: 300ms")
            .Route("/fastpath.test.Echo/", "grpc", "30s")
            .Route("/down.Service/", "down")
            .Route("/silent.Service/", "silent", "30s")
            .Route("/trickle.Service/", "trickle", "30s")
            .Cluster("grpc", [Origin.Address], "protocol: http2")
            .Cluster("down", [$"127.0.0.1:{Ports.GetClosed()}"], "protocol: http2")
            .Cluster("silent", [Silent.Address])
            .Cluster("trickle", [Trickle.Address]), accessLog: true);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Origin.DisposeAsync();
        await Silent.DisposeAsync();
        await Trickle.DisposeAsync();
    }
}

public sealed class GrpcTests(GrpcFixture fixture) : IClassFixture<GrpcFixture>
{
    private readonly GrpcOrigin _origin = fixture.Origin;
    private readonly GatewayProcess _gateway = fixture.Gateway;

    private static readonly HttpClient RawClient = new(new SocketsHttpHandler { UseProxy = false });

    private GrpcChannel Channel(bool viaProxy) => GrpcChannel.ForAddress(viaProxy ? $"http://127.0.0.1:{_gateway.Port}" : $"http://{_origin.Address}",
        new GrpcChannelOptions
        {
            MaxReceiveMessageSize = 16 * 1024 * 1024,
            MaxSendMessageSize = 16 * 1024 * 1024,
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false, UseProxy = false },
        });

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Unary_RepliesWithHeadersAndTrailers(bool viaProxy)
    {
        using GrpcChannel channel = Channel(viaProxy);
        await AssertUnaryCarriesMetadataAsync(new Echo.EchoClient(channel), _origin);
        if (viaProxy) Assert.True(_origin.LastRequestHeaders.ContainsKey("x-request-id"));
    }

    /// <summary>A unary call's reply, response headers and trailers from the origin, and metadata to it (shared with the TLS upstream tests).</summary>
    internal static async Task AssertUnaryCarriesMetadataAsync(Echo.EchoClient client, GrpcOrigin origin)
    {
        using AsyncUnaryCall<EchoReply> call = client.UnaryAsync(new EchoRequest { Message = "hi" }, new Metadata { { "x-meta", "v1" } });
        EchoReply reply = await call;
        Assert.Equal("hi", reply.Message);
        Assert.Equal(origin.Id, (await call.ResponseHeadersAsync).GetValue("x-origin-id"));
        Assert.Equal(origin.Id, call.GetTrailers().GetValue("x-origin-trailer"));
        Assert.Equal("v1", origin.LastRequestHeaders["x-meta"]);
        Assert.Equal("trailers", origin.LastRequestHeaders["te"]);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ServerStreaming_AllMessagesInOrder(bool viaProxy)
    {
        using GrpcChannel channel = Channel(viaProxy);
        await AssertServerStreamInOrderAsync(new Echo.EchoClient(channel));
    }

    /// <summary>200 replies of one server-streaming call arrive in order, then status OK (shared with the TLS upstream tests).</summary>
    internal static async Task AssertServerStreamInOrderAsync(Echo.EchoClient client)
    {
        using AsyncServerStreamingCall<EchoReply> call = client.ServerStream(new EchoRequest { Message = "s", Count = 200 });
        int expected = 0;
        await foreach (EchoReply reply in call.ResponseStream.ReadAllAsync()) Assert.Equal(expected++, reply.Index);
        Assert.Equal(200, expected);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClientStreaming_SumsEveryMessage(bool viaProxy)
    {
        using GrpcChannel channel = Channel(viaProxy);
        var client = new Echo.EchoClient(channel);
        using AsyncClientStreamingCall<EchoRequest, EchoReply> call = client.ClientStream();
        for (int i = 0; i < 50; i++) await call.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[1000]) });
        await call.RequestStream.CompleteAsync();
        EchoReply reply = await call;
        Assert.Equal(50_000, reply.ReceivedBytes);
        Assert.Equal("50 messages", reply.Message);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Bidi_EchoesEachMessageAsItArrives(bool viaProxy)
    {
        using GrpcChannel channel = Channel(viaProxy);
        await AssertBidiEchoesAsTheyArriveAsync(new Echo.EchoClient(channel));
    }

    /// <summary>20 bidi messages, each echoed before the next is sent, then status OK (shared with the TLS upstream tests).</summary>
    internal static async Task AssertBidiEchoesAsTheyArriveAsync(Echo.EchoClient client)
    {
        using AsyncDuplexStreamingCall<EchoRequest, EchoReply> call = client.Bidi();
        for (int i = 0; i < 20; i++)
        {
            // Each reply arrives before the next message is sent: nothing in the path buffers a whole stream.
            await call.RequestStream.WriteAsync(new EchoRequest { Message = "m" + i });
            Assert.True(await call.ResponseStream.MoveNext());
            Assert.Equal("m" + i, call.ResponseStream.Current.Message);
        }
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LargeMessages_FourMiBEachWay(bool viaProxy)
    {
        using GrpcChannel channel = Channel(viaProxy);
        var client = new Echo.EchoClient(channel);
        byte[] payload = new byte[4 * 1024 * 1024];
        new Random(4).NextBytes(payload);
        EchoReply reply = await client.UnaryAsync(new EchoRequest { Payload = ByteString.CopyFrom(payload), ReplyBytes = 4 * 1024 * 1024 });
        Assert.Equal(payload.Length, reply.ReceivedBytes);
        Assert.Equal(4 * 1024 * 1024, reply.Payload.Length);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ServerError_StatusAndMessageReachTheClient(bool viaProxy)
    {
        using GrpcChannel channel = Channel(viaProxy);
        var client = new Echo.EchoClient(channel);
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.UnaryAsync(new EchoRequest { FailCode = (int)StatusCode.NotFound, FailKey = Guid.NewGuid().ToString() }));
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Contains("failed on purpose", e.Status.Detail);
    }

    [Fact(Timeout = 60_000)]
    public async Task Deadline_GrpcTimeoutShorterThanRoute_ProxyAnswersDeadlineExceeded()
    {
        // A raw gRPC call (HTTP/2 POST, length-prefixed message) with grpc-timeout 300m and no client-side deadline:
        // the proxy must give up at ~300 ms (the route allows 30 s) with a trailers-only DEADLINE_EXCEEDED.
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using HttpResponseMessage r = await RawGrpcCallAsync("/silent.Service/Call", new EchoRequest { DelayMs = 5000 }, "300m");
        Assert.True(sw.ElapsedMilliseconds < 4000, $"took {sw.ElapsedMilliseconds} ms");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("4", r.Headers.GetValues("grpc-status").Single()); // DEADLINE_EXCEEDED
        Assert.Equal("upstream request timeout", r.Headers.GetValues("grpc-message").Single());
    }

    [Fact(Timeout = 60_000)]
    public async Task RouteTimeout_ShorterThanDeadline_DeadlineExceeded()
    {
        using GrpcChannel channel = Channel(viaProxy: true);
        var client = new Echo.EchoClient(channel);
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.UnaryAsync(new EchoRequest { DelayMs = 5000 }, new Metadata { { "x-slow-route", "1" } }));
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.Equal("upstream request timeout", e.Status.Detail);
    }

    [Fact(Timeout = 60_000)]
    public async Task ServerStreaming_SlowPastRouteTimeout_DeadlineExceededAfterSomeReplies()
    {
        // The head and first replies arrive well within the 300 ms route timeout; the stream would then run ~10 s.
        // The route timeout bounds the whole response: the call ends at ~300 ms with DEADLINE_EXCEEDED in trailers.
        using GrpcChannel channel = Channel(viaProxy: true);
        var client = new Echo.EchoClient(channel);
        string id = Guid.NewGuid().ToString();
        using AsyncServerStreamingCall<EchoReply> call = client.ServerStream(new EchoRequest { Count = 100, IntervalMs = 100 },
            new Metadata { { "x-slow-route", "1" }, { "x-request-id", id } });
        int received = 0;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (EchoReply _ in call.ResponseStream.ReadAllAsync()) received++;
        });
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.Equal("upstream request timeout", e.Status.Detail);
        Assert.InRange(received, 1, 20);
        Assert.True(sw.ElapsedMilliseconds < 5000, $"took {sw.ElapsedMilliseconds} ms");
        System.Text.Json.JsonElement line = await _gateway.WaitForAccessLogAsync(e => e.GetProperty("request_id").GetString() == id);
        Assert.Equal(200, line.GetProperty("status").GetInt32());
        Assert.Equal("UT", line.GetProperty("response_flags").GetString());
        Assert.Equal(4, line.GetProperty("grpc_status").GetInt32());
    }

    [Fact(Timeout = 60_000)]
    public async Task AccessLog_GrpcStatusOfEachCall()
    {
        // A gRPC call answers HTTP 200 however it ends; the access log says how: the origin's trailers (OK), its
        // trailers-only failure (NOT_FOUND), the proxy's own trailers-only reply (UNAVAILABLE: the origin refuses
        // connections). The logged status is what the client got, 200 (as Envoy logs it); the flags say UF.
        using GrpcChannel channel = Channel(viaProxy: true);
        var client = new Echo.EchoClient(channel);
        string ok = Guid.NewGuid().ToString(), notFound = Guid.NewGuid().ToString(), down = Guid.NewGuid().ToString();
        await client.UnaryAsync(new EchoRequest { Message = "logged" }, new Metadata { { "x-request-id", ok } });
        Assert.Equal(ok, _origin.LastRequestHeaders["x-request-id"]); // the client's id, once (not joined with a fresh one)
        await Assert.ThrowsAsync<RpcException>(async () => await client.UnaryAsync(
            new EchoRequest { FailCode = (int)StatusCode.NotFound, FailKey = notFound }, new Metadata { { "x-request-id", notFound } }));
        var method = new Method<EchoRequest, EchoReply>(MethodType.Unary, "down.Service", "Call",
            Marshallers.Create(r => r.ToByteArray(), EchoRequest.Parser.ParseFrom), Marshallers.Create(r => r.ToByteArray(), EchoReply.Parser.ParseFrom));
        await Assert.ThrowsAsync<RpcException>(async () => await channel.CreateCallInvoker().AsyncUnaryCall(method, null,
            new CallOptions(new Metadata { { "x-request-id", down } }), new EchoRequest()));
        foreach ((string id, int grpcStatus) in new[] { (ok, 0), (notFound, 5), (down, 14) })
        {
            System.Text.Json.JsonElement line = await _gateway.WaitForAccessLogAsync(e => e.GetProperty("request_id").GetString() == id);
            Assert.Equal(grpcStatus, line.GetProperty("grpc_status").GetInt32());
            Assert.Equal(200, line.GetProperty("status").GetInt32());
            Assert.Equal(id == down ? "UF" : "-", line.GetProperty("response_flags").GetString());
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task ServerStreaming_GrpcTimeoutMidStream_TrailersCarryDeadlineExceeded()
    {
        // grpc-timeout 500m on a route that allows 30 s, no client-side deadline: the response head and some messages
        // go out, then the proxy ends the call at the deadline with grpc-status 4 in the trailers.
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using HttpResponseMessage r = await RawGrpcCallAsync("/trickle.Service/Stream", new EchoRequest(), "500m");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.False(r.Headers.Contains("grpc-status")); // not trailers-only: the origin's head went out
        byte[] body = await r.Content.ReadAsByteArrayAsync();
        Assert.True(sw.ElapsedMilliseconds < 5000, $"took {sw.ElapsedMilliseconds} ms");
        Assert.NotEmpty(body);
        Assert.Equal("4", r.TrailingHeaders.GetValues("grpc-status").Single()); // DEADLINE_EXCEEDED
        Assert.Equal("upstream request timeout", r.TrailingHeaders.GetValues("grpc-message").Single());
    }

    /// <summary>A gRPC call made by hand (HTTP/2 POST, one length-prefixed message), so a test can set grpc-timeout
    /// without the client enforcing the deadline itself; the response head is returned as soon as it arrives.</summary>
    private async Task<HttpResponseMessage> RawGrpcCallAsync(string path, EchoRequest message, string grpcTimeout)
    {
        byte[] bytes = message.ToByteArray();
        byte[] frame = new byte[5 + bytes.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), bytes.Length);
        bytes.CopyTo(frame, 5);
        var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{_gateway.Port}{path}")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(frame),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.TryAddWithoutValidation("grpc-timeout", grpcTimeout);
        return await RawClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    [Fact(Timeout = 60_000)]
    public async Task UpstreamDown_Unavailable()
    {
        using GrpcChannel channel = Channel(viaProxy: true);
        var invoker = channel.CreateCallInvoker();
        var method = new Method<EchoRequest, EchoReply>(MethodType.Unary, "down.Service", "Call",
            Marshallers.Create(r => r.ToByteArray(), EchoRequest.Parser.ParseFrom), Marshallers.Create(r => r.ToByteArray(), EchoReply.Parser.ParseFrom));
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () =>
            await invoker.AsyncUnaryCall(method, null, new CallOptions(), new EchoRequest()));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal("upstream connect error", e.Status.Detail);
    }

    [Fact(Timeout = 60_000)]
    public async Task RetryOnUnavailable_TwoFailuresThenSuccess()
    {
        using GrpcChannel channel = Channel(viaProxy: true);
        var client = new Echo.EchoClient(channel);
        var request = new EchoRequest { FailCode = (int)StatusCode.Unavailable, FailTimes = 2, FailKey = Guid.NewGuid().ToString("N"), Message = "r" };
        EchoReply reply = await client.UnaryAsync(request, new Metadata { { "x-retry", "1" } });
        Assert.Equal(3, reply.Attempt); // the origin failed twice (trailers-only UNAVAILABLE); the proxy retried with the body
        Assert.Equal("3", _origin.LastRequestHeaders["x-envoy-attempt-count"]);
    }

    [Fact(Timeout = 60_000)]
    public async Task RetryNotConfiguredForStatus_FailureReachesClient()
    {
        using GrpcChannel channel = Channel(viaProxy: true);
        var client = new Echo.EchoClient(channel);
        var request = new EchoRequest { FailCode = (int)StatusCode.Internal, FailTimes = 1, FailKey = Guid.NewGuid().ToString("N") };
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () => await client.UnaryAsync(request, new Metadata { { "x-retry", "1" } }));
        Assert.Equal(StatusCode.Internal, e.StatusCode);
    }
}
