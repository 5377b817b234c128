// Runs the HTTP/2 server engine on a 127.0.0.1 socket through the same transport the proxy uses (Kestrel's
// SocketTransportFactory as a library), with a simple application: echo the body, return headers and trailers.
// Time is driven by the test (Tick) or, when autoTick, by a timer like the proxy's Heartbeat.
using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using FastPath.Http;
using FastPath.Http2;
using FastPath.Transport;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FastPath.Core.Tests.Http2.Connection;

internal sealed class Http2TestHost : IAsyncDisposable
{
    private readonly DownstreamListener _listener;
    private readonly ConcurrentDictionary<Http2Connection, Task> _connections = new();
    private readonly Timer? _timer;

    private Http2TestHost(DownstreamListener listener, Http2EchoHandler handler, bool autoTick)
    {
        _listener = listener;
        Handler = handler;
        if (autoTick) _timer = new Timer(static s => ((Http2TestHost)s!).Tick(Environment.TickCount64), this, 50, 50);
    }

    public IPEndPoint EndPoint => _listener.EndPoint;

    public int Port => _listener.EndPoint.Port;

    public Http2EchoHandler Handler { get; }

    /// <summary>Connections accepted so far (finished ones included), in no particular order.</summary>
    public ICollection<Http2Connection> Connections => _connections.Keys;

    public static async Task<Http2TestHost> StartAsync(Http2ConnectionLimits? limits = null, bool autoTick = true)
    {
        var handler = new Http2EchoHandler();
        var transport = new SocketTransportFactory(Options.Create(new SocketTransportOptions { WaitForDataBeforeAllocatingBuffer = true }),
            NullLoggerFactory.Instance);
        Http2TestHost? host = null;
        DownstreamListener listener = await DownstreamListener.StartAsync(transport, new IPEndPoint(IPAddress.Loopback, 0), "h2-test",
            context => host!.RunConnectionAsync(context, limits), () => 10_000, NullLogger.Instance);
        host = new Http2TestHost(listener, handler, autoTick);
        return host;
    }

    private Task RunConnectionAsync(ConnectionContext context, Http2ConnectionLimits? limits)
    {
        var connection = new Http2Connection(context.Transport, Handler, limits);
        Task run = connection.RunAsync();
        _connections[connection] = run;
        return run;
    }

    /// <summary>Advances every connection's clock to <paramref name="nowMs"/>.</summary>
    public void Tick(long nowMs)
    {
        foreach (Http2Connection c in _connections.Keys) c.Tick(nowMs);
    }

    /// <summary>Waits until a connection has ended and returns it (the one that ended with <paramref name="reason"/> if given).</summary>
    public async Task<Http2Connection> WaitForEndedConnectionAsync(Http2ConnectionEndReason? reason = null, int timeoutMs = 5000)
    {
        long deadline = Environment.TickCount64 + timeoutMs;
        while (Environment.TickCount64 < deadline)
        {
            foreach ((Http2Connection c, Task t) in _connections)
                if (t.IsCompleted && (reason is null || c.EndReason == reason)) return c;
            await Task.Delay(10);
        }
        throw new TimeoutException("no connection ended" + (reason is null ? "" : " with " + reason));
    }

    public async ValueTask DisposeAsync()
    {
        if (_timer is not null) await _timer.DisposeAsync();
        await _listener.StopAcceptingAsync();
        foreach (Http2Connection c in _connections.Keys) c.BeginGracefulShutdown();
        foreach (Http2Connection c in _connections.Keys) c.Tick(long.MaxValue / 2);
        foreach (Http2Connection c in _connections.Keys) c.Tick(long.MaxValue);
        Task all = Task.WhenAll(_connections.Values);
        await Task.WhenAny(all, Task.Delay(5000));
    }
}

/// <summary>
/// The test application. Paths: <c>/echo</c> (default) streams the request body back, then echoes request trailers
/// as response trailers; <c>/size/N</c> answers N octets; <c>/hold</c> keeps the stream open (body unread) until
/// the client resets it; <c>/linger</c> answers at once and returns a second later; <c>/inspect</c> answers the parsed request head as x- fields;
/// <c>/noend</c> returns after the head, <c>/throw</c> throws. Every response carries <c>x-stream-id</c>. Pooled heads keep it allocation-free per stream.
/// </summary>
internal sealed class Http2EchoHandler : IHttp2StreamHandler
{
    private static readonly byte[] Filler = Enumerable.Repeat((byte)'x', 64 * 1024).ToArray();
    private readonly ConcurrentQueue<HttpResponseHead> _heads = new();
    private int _started;

    public int StreamsStarted => Volatile.Read(ref _started);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask ProcessStreamAsync(Http2Stream stream)
    {
        Interlocked.Increment(ref _started);
        if (!_heads.TryDequeue(out HttpResponseHead? head)) head = new HttpResponseHead();
        try
        {
            head.StatusCode = 200;
            head.Headers.Append("content-type"u8, "application/octet-stream"u8);
            Span<byte> digits = stackalloc byte[10];
            Utf8Formatter.TryFormat(stream.StreamId, digits, out int n);
            head.Headers.Append("x-stream-id"u8, digits[..n]);
            ReadOnlySpan<byte> path = stream.RequestHead.PathOnly;
            if (path.StartsWith("/size/"u8) && Utf8Parser.TryParse(path[6..], out int size, out _))
            {
                await DrainBodyAsync(stream);
                if (!await stream.WriteHeadersAsync(head, endStream: size == 0)) return;
                while (size > 0)
                {
                    int chunk = Math.Min(size, Filler.Length);
                    size -= chunk;
                    if (!await stream.WriteDataAsync(Filler.AsMemory(0, chunk), endStream: size == 0)) return;
                }
                return;
            }
            if (path.SequenceEqual("/hold"u8))
            {
                // Neither reads the body nor answers: the stream stays open until the client resets it.
                while (!stream.IsAborted) await Task.Delay(20);
                return;
            }
            if (path.SequenceEqual("/linger"u8))
            {
                // Answers at once, then keeps running: the stream is over on the wire while its handler is not.
                await DrainBodyAsync(stream);
                await stream.WriteHeadersAsync(head, endStream: true);
                await Task.Delay(1000);
                return;
            }
            if (path.SequenceEqual("/noend"u8))
            {
                await stream.WriteHeadersAsync(head, endStream: false); // and returns: the engine ends the stream
                return;
            }
            if (path.SequenceEqual("/throw"u8)) throw new InvalidOperationException("handler failure (test)");
            if (path.SequenceEqual("/inspect"u8))
            {
                HttpRequestHead rq = stream.RequestHead;
                head.Headers.Append("x-method"u8, rq.MethodBytes);
                head.Headers.Append("x-scheme"u8, rq.Scheme);
                head.Headers.Append("x-authority"u8, rq.Authority);
                head.Headers.Append("x-path"u8, rq.Path);
                head.Headers.Append("x-framing"u8, System.Text.Encoding.ASCII.GetBytes(rq.Framing.ToString() + "/" + rq.ContentLength.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                head.Headers.Append("x-fields"u8, System.Text.Encoding.ASCII.GetBytes(rq.Headers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                await DrainBodyAsync(stream);
                await stream.WriteHeadersAsync(head, endStream: true);
                return;
            }
            await EchoAsync(stream, head);
        }
        finally
        {
            head.Reset();
            _heads.Enqueue(head);
        }
    }

    /// <summary>The next body read; null when the stream was reset under it.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<System.IO.Pipelines.ReadResult?> ReadBodyAsync(Http2Stream stream)
    {
        try
        {
            return await stream.RequestBody.ReadAsync();
        }
        catch (Http2StreamResetException)
        {
            return null;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask DrainBodyAsync(Http2Stream stream)
    {
        while (await ReadBodyAsync(stream) is { } r)
        {
            stream.RequestBody.AdvanceTo(r.Buffer.End);
            if (r.IsCompleted || r.IsCanceled) return;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask EchoAsync(Http2Stream stream, HttpResponseHead head)
    {
        if (!await stream.WriteHeadersAsync(head, endStream: false)) return;
        while (true)
        {
            if (await ReadBodyAsync(stream) is not { } r) return;
            ReadOnlySequence<byte> buffer = r.Buffer;
            bool ok = buffer.IsEmpty || await stream.WriteDataAsync(buffer, endStream: false);
            stream.RequestBody.AdvanceTo(buffer.End);
            if (!ok) return;
            if (r.IsCompleted) break;
        }
        if (stream.HasRequestTrailers)
        {
            stream.RequestTrailers.Append("x-trailer-echo"u8, "1"u8);
            await stream.WriteTrailersAsync(stream.RequestTrailers);
        }
        else
        {
            await stream.WriteDataAsync(ReadOnlyMemory<byte>.Empty, endStream: true);
        }
    }
}
