// A real gRPC service (Grpc.AspNetCore on Kestrel) on 127.0.0.1:0, speaking HTTP/2 with prior knowledge (h2c) or h2
// over TLS, for the tests that call gRPC through FastPath. The Echo service covers the four call kinds; the request
// carries the knobs a proxy test needs: a delay (deadlines), a status to fail with for the first N calls of a key
// (retries on gRPC status), reply padding (large messages). Replies name the origin, and response headers and
// trailers carry markers, so a test can see that metadata crossed the proxy both ways.
using System.Collections.Concurrent;
using System.Net;
using FastPath.EndToEnd.Grpc;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FastPath.EndToEnd.Testing;

public sealed class GrpcOrigin : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcOrigin(string id, WebApplication app, EchoService service, HealthServiceImpl health)
    {
        Id = id;
        _app = app;
        Service = service;
        Health = health;
    }

    /// <summary>The standard grpc.health.v1 service (Grpc.HealthCheck): SERVING for "" until a test says otherwise.</summary>
    public HealthServiceImpl Health { get; }

    public string Id { get; }
    public int Port { get; private set; }
    public string Address => $"127.0.0.1:{Port}";
    internal EchoService Service { get; }
    /// <summary>Calls served, of every kind (counted when a call starts).</summary>
    public int CallCount => Service.Calls;
    /// <summary>The last call's request headers as the service saw them (metadata, te, content-type, grpc-timeout).</summary>
    public IReadOnlyDictionary<string, string> LastRequestHeaders => Service.LastHeaders;

    /// <param name="tls">Serve gRPC over TLS (ALPN h2); null: h2c.</param>
    public static async Task<GrpcOrigin> StartAsync(string id, OriginTls? tls = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "grpc-origin-" + id });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o =>
        {
            o.AddServerHeader = false;
            o.Limits.Http2.MaxStreamsPerConnection = 100;
            o.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                tls?.Apply(listen);
            });
        });
        var service = new EchoService(id);
        builder.Services.AddSingleton(service);
        var health = new HealthServiceImpl();
        health.SetStatus("", HealthCheckResponse.Types.ServingStatus.Serving);
        builder.Services.AddSingleton(health);
        builder.Services.AddGrpc(g => g.MaxReceiveMessageSize = g.MaxSendMessageSize = 16 * 1024 * 1024);
        WebApplication app = builder.Build();
        app.MapGrpcService<EchoService>();
        app.MapGrpcService<HealthServiceImpl>();
        await app.StartAsync();
        var origin = new GrpcOrigin(id, app, service, health);
        string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        origin.Port = new Uri(address).Port;
        return origin;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal sealed class EchoService(string origin) : Echo.EchoBase
{
    private readonly ConcurrentDictionary<string, int> _attempts = new();
    private int _calls;
    private volatile IReadOnlyDictionary<string, string> _lastHeaders = new Dictionary<string, string>();

    public int Calls => Volatile.Read(ref _calls);
    public IReadOnlyDictionary<string, string> LastHeaders => _lastHeaders;

    public override async Task<EchoReply> Unary(EchoRequest request, ServerCallContext context)
    {
        int attempt = await BeginAsync(request, context);
        return Reply(request, 0, request.Payload.Length, attempt);
    }

    public override async Task ServerStream(EchoRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        int attempt = await BeginAsync(request, context);
        for (int i = 0; i < Math.Max(1, request.Count); i++)
        {
            if (i > 0 && request.IntervalMs > 0) await Task.Delay(request.IntervalMs, context.CancellationToken);
            await responseStream.WriteAsync(Reply(request, i, request.Payload.Length, attempt), context.CancellationToken);
        }
    }

    public override async Task<EchoReply> ClientStream(IAsyncStreamReader<EchoRequest> requestStream, ServerCallContext context)
    {
        Start(context);
        long received = 0;
        int count = 0;
        EchoRequest last = new();
        await foreach (EchoRequest request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            received += request.Payload.Length;
            count++;
            last = request;
        }
        EchoReply reply = Reply(last, count, received, 0);
        reply.Message = $"{count} messages";
        return reply;
    }

    public override async Task Bidi(IAsyncStreamReader<EchoRequest> requestStream, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        Start(context);
        int i = 0;
        await foreach (EchoRequest request in requestStream.ReadAllAsync(context.CancellationToken))
            await responseStream.WriteAsync(Reply(request, i++, request.Payload.Length, 0), context.CancellationToken);
    }

    private void Start(ServerCallContext context)
    {
        Interlocked.Increment(ref _calls);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (Metadata.Entry e in context.RequestHeaders) headers[e.Key] = e.IsBinary ? Convert.ToBase64String(e.ValueBytes) : e.Value;
        HttpContextHeaders(context, headers);
        _lastHeaders = headers;
        context.ResponseTrailers.Add("x-origin-trailer", origin);
    }

    private static void HttpContextHeaders(ServerCallContext context, Dictionary<string, string> headers)
    {
        var http = context.GetHttpContext();
        foreach (string name in new[] { "te", "content-type", "grpc-timeout", "x-request-id", "x-envoy-attempt-count" })
            if (http.Request.Headers.TryGetValue(name, out var v)) headers[name] = v.ToString();
    }

    /// <summary>Counts the call, waits its delay and fails it when asked; returns which attempt of its key it is.</summary>
    private async Task<int> BeginAsync(EchoRequest request, ServerCallContext context)
    {
        Start(context);
        // The delay comes before the response head: a proxy's route timeout and grpc-timeout bound the wait for it.
        if (request.DelayMs > 0) await Task.Delay(request.DelayMs, context.CancellationToken);
        int attempt = string.IsNullOrEmpty(request.FailKey) ? 1 : _attempts.AddOrUpdate(request.FailKey, 1, (_, n) => n + 1);
        // A failure before the head goes out is a trailers-only response (grpc-status in the only HEADERS frame).
        if (request.FailCode != 0 && (request.FailTimes == 0 || attempt <= request.FailTimes))
            throw new RpcException(new Status((StatusCode)request.FailCode, $"failed on purpose (attempt {attempt})"));
        await context.WriteResponseHeadersAsync(new Metadata { { "x-origin-id", origin } });
        return attempt;
    }

    private EchoReply Reply(EchoRequest request, int index, long received, int attempt) => new()
    {
        Message = request.Message,
        Index = index,
        ReceivedBytes = received,
        Origin = origin,
        Attempt = attempt,
        Payload = request.ReplyBytes > 0 ? ByteString.CopyFrom(new byte[request.ReplyBytes]) : ByteString.Empty,
    };
}
