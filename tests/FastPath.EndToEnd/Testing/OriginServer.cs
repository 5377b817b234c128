// A real Kestrel origin on 127.0.0.1:0. Every response says which origin served it (x-origin-id and the body), and
// the origin counts TCP connections and requests and records what it received, so tests can check what the
// gateway forwarded, how it pooled connections and what it kept from the origin.
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FastPath.EndToEnd.Testing;

/// <summary>What the origin saw of one request.</summary>
public sealed record OriginRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, long BodyBytes,
    IReadOnlyDictionary<string, string> Trailers)
{
    public string? Header(string name) => Headers.TryGetValue(name, out string? v) ? v : null;

    /// <summary>The request target exactly as it came on the wire (Kestrel's Path is already decoded and normalised).</summary>
    public string RawTarget { get; init; } = "";

    /// <summary>Over mutual TLS: the URI SAN (a SPIFFE ID) of the client certificate the gateway presented.</summary>
    public string? ClientCertificateUri { get; init; }

    /// <summary>HTTP/1.1 or HTTP/2, as Kestrel served it.</summary>
    public string Protocol { get; init; } = "";

    /// <summary>Kestrel's id of the connection the request came on.</summary>
    public string ConnectionId { get; init; } = "";
}

public sealed class OriginServer : IAsyncDisposable
{
    private const int MaxRecorded = 2000;
    private static readonly byte[] Filler = CreateFiller(64 * 1024);

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<OriginRequest> _requests = new();
    private readonly ConcurrentDictionary<string, bool> _failedKeys = new();
    private int _connections;
    private int _requestCount;
    private int _inFlight;

    private OriginServer(string id, WebApplication app)
    {
        Id = id;
        _app = app;
    }

    public string Id { get; }
    public int Port { get; private set; }
    /// <summary>"127.0.0.1:port", as a gateway endpoint.</summary>
    public string Address => $"127.0.0.1:{Port}";
    public int ConnectionCount => Volatile.Read(ref _connections);
    public int RequestCount => Volatile.Read(ref _requestCount);
    public int InFlight => Volatile.Read(ref _inFlight);
    public IReadOnlyList<OriginRequest> Requests => [.. _requests];
    public OriginRequest? LastRequest => _requests.LastOrDefault();

    /// <param name="http2">Serve HTTP/2 (with prior knowledge, h2c, unless over TLS) instead of HTTP/1.1.</param>
    /// <param name="tls">Serve HTTPS (ALPN h2 or http/1.1, following <paramref name="http2"/>); null: plaintext.</param>
    /// <param name="port">The port to listen on (a restarted origin keeps its address); 0: any free one.</param>
    public static async Task<OriginServer> StartAsync(string id, bool http2 = false, OriginTls? tls = null, int port = 0)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "origin-" + id });
        builder.Logging.ClearProviders();
        OriginServer? self = null;
        builder.WebHost.UseKestrel(o =>
        {
            o.AddServerHeader = false;
            o.Limits.MaxRequestBodySize = null;
            o.Limits.MinRequestBodyDataRate = null;
            o.Limits.MinResponseDataRate = null;
            o.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(5);
            o.Listen(IPAddress.Loopback, port, listen =>
            {
                listen.Protocols = http2 ? HttpProtocols.Http2 : HttpProtocols.Http1;
                // Counts accepted TCP connections, before any TLS or HTTP parsing.
                listen.Use(next => ctx =>
                {
                    Interlocked.Increment(ref self!._connections);
                    return next(ctx);
                });
                tls?.Apply(listen);
            });
        });
        WebApplication app = builder.Build();
        self = new OriginServer(id, app);
        app.UseWebSockets();
        app.Run(self.HandleAsync);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        self.Port = new Uri(address).Port;
        return self;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        Interlocked.Increment(ref _requestCount);
        Interlocked.Increment(ref _inFlight);
        try
        {
            ctx.Response.Headers["x-origin-id"] = Id;
            HttpRequest req = ctx.Request;
            string path = req.Path.Value ?? "/";
            long bodyBytes = 0;
            switch (path)
            {
                case "/ws" when ctx.WebSockets.IsWebSocketRequest:
                    Record(ctx, 0);
                    await EchoWebSocketAsync(ctx);
                    return;
                case "/echo":
                {
                    // Streams the body straight back (chunked: the length is not known up front).
                    byte[] buffer = new byte[64 * 1024];
                    int n;
                    while ((n = await req.Body.ReadAsync(buffer, ctx.RequestAborted)) > 0)
                    {
                        bodyBytes += n;
                        await ctx.Response.Body.WriteAsync(buffer.AsMemory(0, n), ctx.RequestAborted);
                    }
                    Record(ctx, bodyBytes);
                    return;
                }
                case "/count":
                {
                    bodyBytes = await DrainAsync(req.Body, ctx.RequestAborted);
                    Record(ctx, bodyBytes);
                    await ctx.Response.WriteAsync($"origin={Id} bytes={bodyBytes}\n", ctx.RequestAborted);
                    return;
                }
                case "/fail-first":
                {
                    // The first request of each ?key= is read whole (trailers too), recorded and answered 503, so a
                    // proxy that retries on 5xx sends it again; later ones succeed.
                    bodyBytes = await DrainAsync(req.Body, ctx.RequestAborted);
                    Record(ctx, bodyBytes);
                    if (_failedKeys.TryAdd(req.Query["key"].FirstOrDefault() ?? "", true))
                    {
                        ctx.Response.StatusCode = 503;
                        return;
                    }
                    await ctx.Response.WriteAsync($"origin={Id} bytes={bodyBytes}\n", ctx.RequestAborted);
                    return;
                }
                case "/delay":
                {
                    int ms = int.Parse(req.Query["ms"].FirstOrDefault() ?? "1000", CultureInfo.InvariantCulture);
                    Record(ctx, await DrainAsync(req.Body, ctx.RequestAborted));
                    await Task.Delay(ms, ctx.RequestAborted);
                    await ctx.Response.WriteAsync($"origin={Id} delayed={ms}\n", ctx.RequestAborted);
                    return;
                }
                case "/status":
                    // Answers ?code= (a health check path that fails on purpose).
                    Record(ctx, await DrainAsync(req.Body, ctx.RequestAborted));
                    ctx.Response.StatusCode = int.Parse(req.Query["code"].FirstOrDefault() ?? "200", CultureInfo.InvariantCulture);
                    return;
                case "/abort":
                    Record(ctx, 0);
                    ctx.Abort();
                    return;
                case "/download":
                {
                    long total = long.Parse(req.Query["bytes"].FirstOrDefault() ?? "0", CultureInfo.InvariantCulture);
                    Record(ctx, 0);
                    ctx.Response.ContentLength = total;
                    for (long left = total; left > 0;)
                    {
                        int n = (int)Math.Min(left, Filler.Length);
                        await ctx.Response.Body.WriteAsync(Filler.AsMemory(0, n), ctx.RequestAborted);
                        left -= n;
                    }
                    return;
                }
                case "/headers":
                {
                    Record(ctx, await DrainAsync(req.Body, ctx.RequestAborted));
                    var headers = req.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
                    ctx.Response.ContentType = "application/json";
                    await ctx.Response.WriteAsync(JsonSerializer.Serialize(headers), ctx.RequestAborted);
                    return;
                }
                default:
                    Record(ctx, await DrainAsync(req.Body, ctx.RequestAborted));
                    await ctx.Response.WriteAsync($"origin={Id} {req.Method} {req.Path}{req.QueryString}\n", ctx.RequestAborted);
                    return;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or WebSocketException)
        {
            // The gateway or client went away mid-request; that is what some tests do on purpose.
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static async Task<long> DrainAsync(Stream body, CancellationToken token)
    {
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        int n;
        while ((n = await body.ReadAsync(buffer, token)) > 0) total += n;
        return total;
    }

    private void Record(HttpContext ctx, long bodyBytes)
    {
        HttpRequest req = ctx.Request;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues> h in req.Headers) headers[h.Key] = h.Value.ToString();
        var trailers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        IHttpRequestTrailersFeature? feature = ctx.Features.Get<IHttpRequestTrailersFeature>();
        if (feature is { Available: true })
            foreach (KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues> t in feature.Trailers) trailers[t.Key] = t.Value.ToString();
        _requests.Enqueue(new OriginRequest(req.Method, $"{req.Path}{req.QueryString}", headers, bodyBytes, trailers)
        {
            RawTarget = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "",
            ClientCertificateUri = ctx.Connection.ClientCertificate?.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.UrlName, false),
            Protocol = req.Protocol,
            ConnectionId = ctx.Connection.Id,
        });
        while (_requests.Count > MaxRecorded) _requests.TryDequeue(out _);
    }

    private static async Task EchoWebSocketAsync(HttpContext ctx)
    {
        using WebSocket socket = await ctx.WebSockets.AcceptWebSocketAsync();
        byte[] buffer = new byte[64 * 1024];
        while (true)
        {
            WebSocketReceiveResult r = await socket.ReceiveAsync(buffer, ctx.RequestAborted);
            if (r.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", ctx.RequestAborted);
                return;
            }
            await socket.SendAsync(buffer.AsMemory(0, r.Count), r.MessageType, r.EndOfMessage, ctx.RequestAborted);
        }
    }

    private static byte[] CreateFiller(int length)
    {
        byte[] b = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("0123456789abcdef", length / 16)));
        return b;
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
        }
        await _app.DisposeAsync();
    }
}
