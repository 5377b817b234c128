// The upstream HTTP/2 pool against a real Kestrel HTTP/2 server (h2c) on 127.0.0.1: streams multiplexed on one
// connection, another connection once the server's max concurrent streams is reached, connect failures, and a
// server going away (GOAWAY) taking its connection out of the pool.
using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using FastPath.Http;
using FastPath.Http2;
using FastPath.Transport;
using FastPath.Upstream;
using FastPath.Upstream.Pools;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastPath.Core.Tests.Upstream.Pools;

public sealed class Http2ConnectionPoolTests : IAsyncLifetime
{
    private WebApplication _server = null!;
    private int _port;
    private int _connections;
    private readonly UpstreamConnector _connector = new(NullLoggerFactory.Instance);

    public async Task InitializeAsync() => (_server, _port) = await StartServerAsync(maxStreams: 2, () => Interlocked.Increment(ref _connections));

    /// <summary>Kestrel h2c; /slow answers after 400 ms, so streams of a burst overlap.</summary>
    private static async Task<(WebApplication Server, int Port)> StartServerAsync(int maxStreams, Action onConnection)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o =>
        {
            o.Limits.Http2.MaxStreamsPerConnection = maxStreams;
            o.Listen(IPAddress.Loopback, 0, l =>
            {
                l.Protocols = HttpProtocols.Http2;
                l.Use(next => ctx =>
                {
                    onConnection();
                    return next(ctx);
                });
            });
        });
        WebApplication server = builder.Build();
        server.Run(async ctx =>
        {
            if (ctx.Request.Path == "/slow") await Task.Delay(400);
            ctx.Response.Headers["x-protocol"] = ctx.Request.Protocol;
            await ctx.Response.WriteAsync("ok " + ctx.Request.Path);
        });
        await server.StartAsync();
        int port = new Uri(server.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First()).Port;
        return (server, port);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _connector.Dispose();
    }

    private Http2ConnectionPool Pool(int port, int maxConnections = 10, Http2ConnectionLimits? limits = null) =>
        new("test", new IPEndPoint(IPAddress.Loopback, port), _connector, new PoolSettings(maxConnections, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(60)),
            limits: limits);

    private static HttpRequestHead Get(string path, int port)
    {
        var head = new HttpRequestHead();
        head.Method = HttpMethod.Get;
        head.MethodStart = head.Headers.Store("GET"u8);
        head.MethodLength = 3;
        byte[] p = Encoding.ASCII.GetBytes(path);
        head.PathStart = head.Headers.Store(p);
        head.PathLength = p.Length;
        byte[] authority = Encoding.ASCII.GetBytes($"127.0.0.1:{port}");
        head.AuthorityStart = head.Headers.Store(authority);
        head.AuthorityLength = authority.Length;
        head.Headers.Append("x-test"u8, "1"u8);
        return head;
    }

    private static async Task<(int Status, string Body, string? Protocol)> ReadAsync(Http2Stream stream)
    {
        try
        {
            Assert.True(await stream.ReadResponseHeadAsync());
            HttpResponseHead head = stream.ResponseHead;
            int i = head.Headers.IndexOfName("x-protocol"u8);
            string? protocol = i < 0 ? null : Encoding.ASCII.GetString(head.Headers.Value(head.Headers[i]));
            var body = new MemoryStream();
            PipeReader reader = stream.ResponseBody;
            while (true)
            {
                ReadResult r = await reader.ReadAsync();
                foreach (ReadOnlyMemory<byte> m in r.Buffer) body.Write(m.Span);
                reader.AdvanceTo(r.Buffer.End);
                if (r.IsCompleted) break;
            }
            return (head.StatusCode, Encoding.ASCII.GetString(body.ToArray()), protocol);
        }
        finally
        {
            stream.Complete();
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task OpenStream_Get_ResponseOverHttp2()
    {
        Http2ConnectionPool pool = Pool(_port);
        Http2StreamLease lease = await pool.OpenStreamAsync(Get("/a", _port), endStream: true);
        Assert.Equal(ProxyError.None, lease.Error);
        (int status, string body, string? protocol) = await ReadAsync(lease.Stream!);
        Assert.Equal(200, status);
        Assert.Equal("ok /a", body);
        Assert.Equal("HTTP/2", protocol);
        pool.CloseAll();
    }

    [Fact(Timeout = 30_000)]
    public async Task SequentialRequests_ShareOneConnection()
    {
        Http2ConnectionPool pool = Pool(_port);
        for (int i = 0; i < 20; i++)
        {
            Http2StreamLease lease = await pool.OpenStreamAsync(Get("/seq", _port), endStream: true);
            Assert.Equal(200, (await ReadAsync(lease.Stream!)).Status);
        }
        Assert.Equal(1, pool.ConnectionsOpened);
        Assert.Equal(1, pool.OpenConnections);
        pool.CloseAll();
    }

    [Fact(Timeout = 30_000)]
    public async Task ServerMaxConcurrentStreamsReached_AnotherConnectionOpened()
    {
        Http2ConnectionPool pool = Pool(_port);
        // Settle the peer's SETTINGS (max 2 streams) on the first connection before the burst.
        Assert.Equal(200, (await ReadAsync((await pool.OpenStreamAsync(Get("/warm", _port), true)).Stream!)).Status);
        var leases = new List<Http2StreamLease>();
        for (int i = 0; i < 5; i++) leases.Add(await pool.OpenStreamAsync(Get("/slow", _port), endStream: true));
        Assert.All(leases, l => Assert.Equal(ProxyError.None, l.Error));
        var results = await Task.WhenAll(leases.Select(l => ReadAsync(l.Stream!)));
        Assert.All(results, r => Assert.Equal("ok /slow", r.Body));
        Assert.Equal(3, pool.ConnectionsOpened); // 5 streams at 2 per connection
        pool.CloseAll();
    }

    [Fact(Timeout = 30_000)]
    public async Task MaxConnectionsReached_Overflow()
    {
        Http2ConnectionPool pool = Pool(_port, maxConnections: 1);
        Assert.Equal(200, (await ReadAsync((await pool.OpenStreamAsync(Get("/warm", _port), true)).Stream!)).Status);
        Http2StreamLease a = await pool.OpenStreamAsync(Get("/slow", _port), true);
        Http2StreamLease b = await pool.OpenStreamAsync(Get("/slow", _port), true);
        Http2StreamLease c = await pool.OpenStreamAsync(Get("/slow", _port), true);
        Assert.Equal(ProxyError.None, a.Error);
        Assert.Equal(ProxyError.None, b.Error);
        Assert.Equal(ProxyError.UpstreamOverflow, c.Error);
        await ReadAsync(a.Stream!);
        await ReadAsync(b.Stream!);
        pool.CloseAll();
    }

    [Fact(Timeout = 30_000)]
    public async Task ClosedPort_ConnectFailure()
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int closed = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Http2StreamLease lease = await Pool(closed).OpenStreamAsync(Get("/", closed), true);
        Assert.Equal(ProxyError.UpstreamConnectFailure, lease.Error);
        Assert.Null(lease.Stream);
    }

    [Fact(Timeout = 30_000)]
    public async Task ServerStops_ConnectionLeavesThePool()
    {
        Http2ConnectionPool pool = Pool(_port);
        Assert.Equal(200, (await ReadAsync((await pool.OpenStreamAsync(Get("/x", _port), true)).Stream!)).Status);
        Assert.Equal(1, pool.OpenConnections);
        await _server.StopAsync(); // Kestrel sends GOAWAY and closes
        for (int i = 0; i < 100 && pool.OpenConnections > 0; i++) await Task.Delay(50);
        Assert.Equal(0, pool.OpenConnections);
        Assert.Equal(ProxyError.UpstreamConnectFailure, (await pool.OpenStreamAsync(Get("/x", _port), true)).Error);
    }

    [Theory(Timeout = 30_000)]
    [InlineData(10, 5)]   // the cluster's max_concurrent_streams below the server's 100: ceil(50 / 10)
    [InlineData(null, 1)] // the server's 100 allows the whole burst on one connection
    public async Task BurstOfFirstRequests_ShareConnectionsStillOpening(int? maxStreams, int expectedConnections)
    {
        int connections = 0;
        (WebApplication server, int port) = await StartServerAsync(maxStreams: 100, () => Interlocked.Increment(ref connections));
        await using WebApplication _ = server;
        Http2ConnectionPool pool = Pool(port, maxConnections: 50,
            maxStreams is { } max ? new Http2ConnectionLimits { MaxOpenStreams = (uint)max } : null);

        // 50 requests arrive together while no connection exists; /slow keeps all 50 streams open at once.
        Http2StreamLease[] leases = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => pool.OpenStreamAsync(Get("/slow", port), true).AsTask()));
        Assert.All(leases, l => Assert.Equal(ProxyError.None, l.Error));
        var results = await Task.WhenAll(leases.Select(l => ReadAsync(l.Stream!)));

        Assert.All(results, r => Assert.Equal("ok /slow", r.Body));
        Assert.Equal(expectedConnections, pool.ConnectionsOpened);
        Assert.Equal(expectedConnections, Volatile.Read(ref connections));
        pool.CloseAll();
    }

    [Fact(Timeout = 30_000)]
    public async Task BurstOfFirstRequests_ServerAllowsFewerStreamsThanAssumed_AllServedOnCeilConnections()
    {
        // The first connection is assumed to take 100 streams until the server's SETTINGS say 2: the requests it
        // cannot take go back to the pool, which now shares new connections two by two.
        Http2ConnectionPool pool = Pool(_port);
        int before = Volatile.Read(ref _connections);
        Http2StreamLease[] leases = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => pool.OpenStreamAsync(Get("/slow", _port), true).AsTask()));
        Assert.All(leases, l => Assert.Equal(ProxyError.None, l.Error));
        var results = await Task.WhenAll(leases.Select(l => ReadAsync(l.Stream!)));

        Assert.All(results, r => Assert.Equal("ok /slow", r.Body));
        Assert.Equal(3, pool.ConnectionsOpened);
        Assert.Equal(3, Volatile.Read(ref _connections) - before);
        pool.CloseAll();
    }
}
