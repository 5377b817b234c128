// The engine in the client role (what an upstream HTTP/2 pool will drive): against the engine's own server role
// and against nghttpd, over real sockets through the proxy's UpstreamConnector.
using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastPath.Http;
using FastPath.Http2;
using FastPath.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastPath.Core.Tests.Http2.Connection;

public sealed class Http2ClientRoleTests
{
    private static HttpRequestHead Request(string method, string path, string authority, params (string Name, string Value)[] fields)
    {
        var head = new HttpRequestHead();
        byte[] m = Encoding.ASCII.GetBytes(method);
        head.MethodStart = head.Headers.Store(m);
        head.MethodLength = m.Length;
        head.Method = FastPath.Http.HttpMethods.Lookup(m);
        byte[] p = Encoding.ASCII.GetBytes(path);
        head.PathStart = head.Headers.Store(p);
        head.PathLength = p.Length;
        byte[] a = Encoding.ASCII.GetBytes(authority);
        head.AuthorityStart = head.Headers.Store(a);
        head.AuthorityLength = a.Length;
        foreach ((string n, string v) in fields) head.Headers.Append(Encoding.ASCII.GetBytes(n), Encoding.ASCII.GetBytes(v));
        return head;
    }

    private sealed class ClientConnection : IAsyncDisposable
    {
        private readonly UpstreamConnector _connector = new(NullLoggerFactory.Instance);
        private ConnectionContext _context = null!;
        public Http2Connection Connection { get; private set; } = null!;
        public Task Run { get; private set; } = Task.CompletedTask;

        public static async Task<ClientConnection> ConnectAsync(IPEndPoint endPoint, int maxStreams = 0)
        {
            var c = new ClientConnection();
            c._context = await c._connector.ConnectAsync(endPoint, TimeSpan.FromSeconds(5));
            c.Connection = Http2Connection.ForClient(c._context.Transport, maxStreams: maxStreams);
            c.Run = c.Connection.RunAsync();
            return c;
        }

        public async ValueTask DisposeAsync()
        {
            Connection.BeginGracefulShutdown();
            Connection.Tick(0);
            Connection.Tick(100_000);
            Connection.Tick(200_000);
            await Task.WhenAny(Run, Task.Delay(5000));
            await _context.DisposeAsync();
            _connector.Dispose();
        }
    }

    private static async Task<byte[]> ReadAllAsync(PipeReader body)
    {
        var all = new MemoryStream();
        while (true)
        {
            ReadResult r = await body.ReadAsync();
            foreach (ReadOnlyMemory<byte> m in r.Buffer) all.Write(m.Span);
            body.AdvanceTo(r.Buffer.End);
            if (r.IsCompleted) return all.ToArray();
        }
    }

    private static string Field(HttpHeaderBlock block, string name)
    {
        int i = block.IndexOfName(Encoding.ASCII.GetBytes(name));
        return i < 0 ? "" : Encoding.ASCII.GetString(block.Value(block[i]));
    }

    [Fact]
    public async Task ClientRole_GetAgainstServerRole_ResponseHeadAndBody()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using ClientConnection client = await ClientConnection.ConnectAsync(host.EndPoint);
        Http2Stream? stream = await client.Connection.OpenStreamAsync(Request("GET", "/size/100000", "localhost"), endStream: true);
        Assert.NotNull(stream);
        Assert.Equal(1u, stream.StreamId);
        Assert.True(await stream.ReadResponseHeadAsync());
        Assert.Equal(200, stream.ResponseHead.StatusCode);
        Assert.Equal("1", Field(stream.ResponseHead.Headers, "x-stream-id"));
        Assert.Equal(100_000, (await ReadAllAsync(stream.ResponseBody)).Length);
        stream.Complete();
    }

    [Fact]
    public async Task ClientRole_PostLargeBodyWithTrailers_EchoedWithTrailers()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using ClientConnection client = await ClientConnection.ConnectAsync(host.EndPoint);
        Http2Stream stream = (await client.Connection.OpenStreamAsync(Request("POST", "/echo", "localhost", ("te", "trailers")), endStream: false))!;
        byte[] body = new byte[2 << 20];
        new Random(9).NextBytes(body);
        Task<byte[]> echoed = Task.Run(async () =>
        {
            Assert.True(await stream.ReadResponseHeadAsync());
            return await ReadAllAsync(stream.ResponseBody);
        });
        Assert.True(await stream.WriteDataAsync(body, endStream: false)); // > every window: flow control both ways
        var trailers = new HttpHeaderBlock();
        trailers.Append("grpc-status"u8, "0"u8);
        Assert.True(await stream.WriteTrailersAsync(trailers));
        Assert.Equal(body, await echoed);
        Assert.Equal("0", Field(stream.ResponseTrailers, "grpc-status"));
        Assert.Equal("1", Field(stream.ResponseTrailers, "x-trailer-echo"));
        stream.Complete();
    }

    [Fact]
    public async Task ClientRole_MaxStreams_NoMoreStreamsAfterN_ClosesWithGoAwayOnceTheyEnd()
    {
        // max_requests_per_connection in the engine: the third stream is refused at once (the pool then opens another
        // connection); the two open ones finish normally, and then the connection ends by itself, sending GOAWAY.
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using ClientConnection client = await ClientConnection.ConnectAsync(host.EndPoint, maxStreams: 2);
        Http2Stream first = (await client.Connection.OpenStreamAsync(Request("GET", "/size/10", "localhost"), endStream: true))!;
        Http2Stream second = (await client.Connection.OpenStreamAsync(Request("GET", "/size/20", "localhost"), endStream: true))!;
        Assert.Null(await client.Connection.OpenStreamAsync(Request("GET", "/size/30", "localhost"), endStream: true));
        Assert.False(client.Run.IsCompleted);
        foreach ((Http2Stream s, int length) in new[] { (first, 10), (second, 20) })
        {
            Assert.True(await s.ReadResponseHeadAsync());
            Assert.Equal(length, (await ReadAllAsync(s.ResponseBody)).Length);
            s.Complete();
        }
        await client.Run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Http2ConnectionEndReason.GracefulShutdown, client.Connection.EndReason);
        Assert.Equal(Http2ErrorCode.NO_ERROR, client.Connection.GoAwaySent);
    }

    [Fact]
    public async Task ClientRole_ConcurrentStreams_AllAnswered_OddIds()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using ClientConnection client = await ClientConnection.ConnectAsync(host.EndPoint);
        var tasks = new List<Task<(uint, int)>>();
        for (int i = 0; i < 50; i++)
        {
            Http2Stream s = (await client.Connection.OpenStreamAsync(Request("GET", "/size/" + (1000 + i), "localhost"), endStream: true))!;
            tasks.Add(Task.Run(async () =>
            {
                Assert.True(await s.ReadResponseHeadAsync());
                int n = (await ReadAllAsync(s.ResponseBody)).Length;
                uint id = s.StreamId;
                s.Complete();
                return (id, n);
            }));
        }
        (uint Id, int Length)[] results = await Task.WhenAll(tasks);
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal((uint)(2 * i + 1), results[i].Id);
            Assert.Equal(1000 + i, results[i].Length);
        }
    }

    [Fact]
    public async Task ClientRole_AgainstNghttpd_GetFile()
    {
        string dir = Directory.CreateTempSubdirectory("h2-nghttpd").FullName;
        byte[] content = new byte[300_000];
        new Random(1).NextBytes(content);
        await File.WriteAllBytesAsync(Path.Combine(dir, "blob.bin"), content);
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        string nghttpd = File.Exists("/usr/sbin/nghttpd") ? "/usr/sbin/nghttpd" : "nghttpd";
        using Process server = Process.Start(new ProcessStartInfo(nghttpd, $"--no-tls -a 127.0.0.1 -d {dir} {port}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            ClientConnection? client = null;
            for (int i = 0; i < 100 && client is null; i++)
            {
                try
                {
                    client = await ClientConnection.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                }
                catch (Exception) when (i < 99)
                {
                    await Task.Delay(50);
                }
            }
            await using ClientConnection c = client!;
            Http2Stream stream = (await c.Connection.OpenStreamAsync(Request("GET", "/blob.bin", $"127.0.0.1:{port}"), endStream: true))!;
            Assert.True(await stream.ReadResponseHeadAsync());
            Assert.Equal(200, stream.ResponseHead.StatusCode);
            Assert.Equal(content.Length, stream.ResponseHead.ContentLength);
            Assert.Equal(content, await ReadAllAsync(stream.ResponseBody));
            stream.Complete();

            Http2Stream missing = (await c.Connection.OpenStreamAsync(Request("GET", "/nope", $"127.0.0.1:{port}"), endStream: true))!;
            Assert.True(await missing.ReadResponseHeadAsync());
            Assert.Equal(404, missing.ResponseHead.StatusCode);
            await ReadAllAsync(missing.ResponseBody);
            missing.Complete();
        }
        finally
        {
            server.Kill();
            await server.WaitForExitAsync();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task ClientRole_AgainstKestrelH2c_GetAndPostWithTrailers()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "kestrel-h2c" });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        await using WebApplication app = builder.Build();
        app.Run(async ctx =>
        {
            ctx.Response.Headers["x-kestrel-path"] = ctx.Request.Path.Value;
            if (Microsoft.AspNetCore.Http.HttpMethods.IsPost(ctx.Request.Method))
            {
                await ctx.Request.Body.CopyToAsync(ctx.Response.Body);
                ctx.Response.AppendTrailer("x-done", "yes");
                return;
            }
            await ctx.Response.WriteAsync("hello from kestrel");
        });
        await app.StartAsync();
        int port = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First()).Port;

        await using ClientConnection client = await ClientConnection.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        Http2Stream get = (await client.Connection.OpenStreamAsync(Request("GET", "/a?b=1", $"127.0.0.1:{port}"), endStream: true))!;
        Assert.True(await get.ReadResponseHeadAsync());
        Assert.Equal(200, get.ResponseHead.StatusCode);
        Assert.Equal("/a", Field(get.ResponseHead.Headers, "x-kestrel-path"));
        Assert.Equal("hello from kestrel", Encoding.ASCII.GetString(await ReadAllAsync(get.ResponseBody)));
        get.Complete();

        Http2Stream post = (await client.Connection.OpenStreamAsync(Request("POST", "/echo", $"127.0.0.1:{port}", ("te", "trailers")), endStream: false))!;
        byte[] body = new byte[1 << 20];
        new Random(4).NextBytes(body);
        Task<byte[]> echoed = Task.Run(async () =>
        {
            Assert.True(await post.ReadResponseHeadAsync());
            return await ReadAllAsync(post.ResponseBody);
        });
        Assert.True(await post.WriteDataAsync(body, endStream: true));
        Assert.Equal(body, await echoed);
        Assert.Equal("yes", Field(post.ResponseTrailers, "x-done"));
        post.Complete();
        await app.StopAsync();
    }
}
