// The connection manager's HTTP/2 side. A downstream HTTP/2 connection (h2c with prior knowledge, detected from the
// preface on a plaintext listener, or ALPN h2 after TLS) is run by an Http2ConnectionManager, which hands each
// request stream to a stream processor: an HttpConnectionManager in stream mode, whose RunAsync loop waits for the
// next stream instead of parsing the next HTTP/1.1 head and then runs the very same request path (authorization,
// routing, filters, retries, the upstream pool) with the stream's body reader as its input and the stream's frames as
// its output. Processors are kept per connection and reused, so a proxied stream allocates no state machine: the
// engine awaits a value task backed by the processor itself.
using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Tasks.Sources;
using FastPath.Config;
using FastPath.Grpc;
using FastPath.Http;
using FastPath.Http1;
using FastPath.Http2;
using FastPath.Routing;
using FastPath.Security;
using FastPath.Upstream;
using FastPath.Upstream.Pools;

namespace FastPath.Filters.Network;

internal sealed partial class HttpConnectionManager : IValueTaskSource<Http2Stream?>, IValueTaskSource
{
    private static ReadOnlySpan<byte> Http2PrefaceStart => "PRI "u8;

    // Stream mode: the connection this processor serves, the stream in hand, the response body being framed, and the
    // two hand-overs (the next stream to this loop; the end of a stream to the engine).
    private readonly Http2ConnectionManager? _owner;
    private Http2Stream? _stream;
    private readonly ResponseBodyBuffer? _h2Body;
    private ManualResetValueTaskSourceCore<Http2Stream?> _next;
    private ManualResetValueTaskSourceCore<bool> _done;
    private bool _dead;
    // Connection mode, once the connection turned out to speak HTTP/2.
    private Http2ConnectionManager? _h2;
    // The upstream HTTP/2 stream of the try in flight (an HTTP/2 cluster), and the deadline's way to wake its head wait.
    private Http2Stream? _upStream;
    private Action? _wakeHeadWaitCache;

    private Action _wakeHeadWait => _wakeHeadWaitCache ??= () => _upStream?.WakeResponseHeadWait();

    /// <summary>Ends the try's upstream: an HTTP/1.1 connection closes; an HTTP/2 stream is completed (reset if unfinished).</summary>
    private void CloseUpstream(ref UpstreamConnection? upstream)
    {
        upstream?.Close();
        upstream = null;
        Http2Stream? stream = _upStream;
        _upStream = null;
        stream?.Complete();
    }

    /// <summary>
    /// The request as an HTTP/2 origin gets it, in the exchange's upstream head: the route's path and host rewrites,
    /// the request's fields (framing and hop-by-hop ones left out), and the forwarding fields, from the same
    /// <see cref="ForwardedFields"/> the HTTP/1.1 writer serialises.
    /// </summary>
    private void BuildHttp2UpstreamHead(HttpExchange exchange, ProxySnapshot snapshot, UpstreamEndpoint endpoint, Route route, int attemptCount)
    {
        HttpRequestHead source = exchange.Request;
        HttpRequestHead head = exchange.UpstreamRequest;
        head.Reset();
        HttpHeaderBlock block = head.Headers;
        ForwardedFields fwd = ForwardedFieldsFor(exchange, snapshot, endpoint, route, attemptCount);
        ReadOnlySpan<byte> path = fwd.PathFor(source);
        ReadOnlySpan<byte> authority = fwd.HostFor(source);
        head.Method = source.Method;
        head.MethodStart = block.Store(source.MethodBytes);
        head.MethodLength = source.MethodLength;
        head.PathStart = block.Store(path);
        head.PathLength = path.Length;
        head.AuthorityStart = block.Store(authority);
        head.AuthorityLength = authority.Length;
        head.SchemeStart = block.Store("http"u8);
        head.SchemeLength = 4;
        head.Version = HttpVersion.Http2;
        head.Framing = source.Framing;
        head.ContentLength = source.ContentLength;

        HttpHeaderBlock fields = source.Headers;
        for (int i = 0; i < fields.Count; i++)
        {
            ref HeaderEntry e = ref fields[i];
            if (e.Skip || e.Id is KnownHeader.Host or KnownHeader.ContentLength or KnownHeader.TransferEncoding or KnownHeader.XForwardedFor) continue;
            block.Add(fields.Name(e), fields.Value(e), e.Id);
        }
        fwd.AppendTo(block, fields);
    }

    /// <summary>An HTTP/2 origin's response head into the exchange's (the stream's own is recycled with the stream).</summary>
    private static void CopyHttp2ResponseHead(HttpResponseHead from, HttpResponseHead to, HttpRequestHead request)
    {
        to.Reset();
        to.StatusCode = from.StatusCode;
        to.Version = HttpVersion.Http2;
        to.KeepAlive = true;
        to.ContentLength = from.ContentLength;
        // No body follows a HEAD request's or a 204/304 response's head, whatever content-length says (RFC 9110 §6.3).
        to.Framing = request.Method == HttpMethod.Head || from.StatusCode is 204 or 304 ? BodyFraming.None : from.Framing;
        CopyFields(from.Headers, to.Headers);
        // The next hop frames the body itself; a bodiless response keeps the length it announces.
        if (to.Framing != BodyFraming.None) to.Headers.SkipAll(KnownHeader.ContentLength);
    }

    /// <summary>The route timeout cut to the request's grpc-timeout when it has a valid, shorter one.</summary>
    private static long GrpcTimeoutMs(HttpRequestHead request, long routeTimeoutMs)
    {
        HttpHeaderBlock headers = request.Headers;
        int i = headers.IndexOfName(GrpcProtocol.TimeoutName);
        return i >= 0 && GrpcProtocol.TryParseTimeout(headers.Value(headers[i]), out long grpcMs)
            ? GrpcProtocol.EffectiveTimeoutMs(routeTimeoutMs, grpcMs)
            : routeTimeoutMs;
    }

    private static void CopyFields(HttpHeaderBlock from, HttpHeaderBlock to)
    {
        for (int i = 0; i < from.Count; i++)
        {
            ref HeaderEntry e = ref from[i];
            if (!e.Skip) to.Add(from.Name(e), from.Value(e), e.Id);
        }
    }

    /// <summary>A stream processor for one HTTP/2 connection (stream mode).</summary>
    public HttpConnectionManager(Http2ConnectionManager owner, ProxyRuntime runtime, string listener, DownstreamTls? tls, byte[] clientAddress)
    {
        _owner = owner;
        _runtime = runtime;
        _listener = listener;
        _tls = tls;
        _clientAddress = clientAddress;
        _input = null!;
        _output = null!;
        _h2Body = new ResponseBodyBuffer();
        _next.RunContinuationsAsynchronously = false;
        _done.RunContinuationsAsynchronously = false;
    }

    /// <summary>Hands a stream to this idle processor; the task completes when its exchange is over.</summary>
    public ValueTask BeginStream(Http2Stream stream)
    {
        _done.Reset();
        var done = new ValueTask(this, _done.Version);
        _next.SetResult(stream);
        return done;
    }

    /// <summary>Ends this processor's loop (the connection is gone).</summary>
    public void Stop() => _next.SetResult(null);

    private ValueTask<Http2Stream?> NextStreamAsync() => new(this, _next.Version);

    /// <summary>The stream's exchange is over: ready for the next one, then let the engine recycle the stream.</summary>
    private void EndStream()
    {
        _stream = null;
        _input = null!;
        _h2Body!.Clear();
        _next.Reset();
        _done.SetResult(true);
    }

    Http2Stream? IValueTaskSource<Http2Stream?>.GetResult(short token) => _next.GetResult(token);
    ValueTaskSourceStatus IValueTaskSource<Http2Stream?>.GetStatus(short token) => _next.GetStatus(token);
    void IValueTaskSource<Http2Stream?>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _next.OnCompleted(continuation, state, token, flags);

    void IValueTaskSource.GetResult(short token)
    {
        _done.GetResult(token);
        // The engine has taken the stream back: only now may another stream reuse this processor.
        if (!_dead) _owner!.ReturnIdle(this);
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _done.GetStatus(token);
    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _done.OnCompleted(continuation, state, token, flags);

    /// <summary>Whether the first bytes of a plaintext connection are the HTTP/2 preface (RFC 9113 §3.4): yes, no, or
    /// too few bytes to tell.</summary>
    private static bool? StartsWithHttp2Preface(in ReadOnlySequence<byte> buffer)
    {
        ReadOnlySpan<byte> start = Http2PrefaceStart;
        Span<byte> first = stackalloc byte[4];
        int n = (int)Math.Min(buffer.Length, start.Length);
        buffer.Slice(0, n).CopyTo(first);
        if (!first[..n].SequenceEqual(start[..n])) return false;
        return n == start.Length ? true : null;
    }

    /// <summary>Runs this connection as HTTP/2 until it ends; the caller then closes it as usual.</summary>
    private async Task RunHttp2Async(IDuplexPipe transport)
    {
        var h2 = new Http2ConnectionManager(transport, _runtime, _listener, _tls, _clientAddress) { AddressSource = this };
        _h2 = h2;
        if (_runtime.Draining) h2.BeginDrain();
        await h2.RunAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Builds the answer the proxy itself gives on an HTTP/2 stream into the exchange's response head and the body
    /// buffer. A gRPC request gets a trailers-only reply (HTTP 200, grpc-status and grpc-message, no body), since a
    /// gRPC client cannot read an HTTP error; anything else gets the status, the reply's fields and its body.
    /// </summary>
    private void PrepareHttp2LocalReply(HttpExchange exchange, int status, ReadOnlySpan<byte> body, ReadOnlySpan<byte> fieldLines, bool headOnly)
    {
        HttpResponseHead head = exchange.Response;
        head.Reset();
        ResponseBodyBuffer buffer = _h2Body!;
        buffer.Clear();
        if (IsGrpc(exchange.Request))
        {
            GrpcStatusCode code = exchange.Outcome.Error is ProxyError.None or ProxyError.LocalReply or ProxyError.FaultAbort
                ? GrpcProtocol.FromHttpStatus(status)
                : GrpcProtocol.FromProxyError(exchange.Outcome.Error);
            head.StatusCode = 200;
            head.Headers.Append("content-type"u8, GrpcProtocol.ContentType);
            AppendGrpcStatus(head.Headers, code, body, buffer.GetSpan(body.Length * 3));
            AppendFieldLines(head.Headers, fieldLines);
            return;
        }
        head.StatusCode = status;
        AppendFieldLines(head.Headers, fieldLines);
        if (!body.IsEmpty && head.Headers.IndexOfName("content-type"u8) < 0) head.Headers.Append("content-type"u8, "text/plain"u8);
        Span<byte> len = stackalloc byte[20];
        System.Buffers.Text.Utf8Formatter.TryFormat(body.Length, len, out int written);
        head.Headers.Append("content-length"u8, len[..written]);
        if (!headOnly) buffer.Write(body);
    }

    /// <summary>Whether the request is a gRPC call (its content-type is application/grpc or a subtype).</summary>
    private static bool IsGrpc(HttpRequestHead request)
    {
        int contentType = request.Headers.IndexOfName("content-type"u8);
        return contentType >= 0 && GrpcProtocol.IsGrpcContentType(request.Headers.Value(request.Headers[contentType]));
    }

    /// <summary>grpc-status and grpc-message (percent-encoded into <paramref name="scratch"/>, 3 bytes per message
    /// byte) for a status the proxy gives; the message is an error body without its final newline.</summary>
    private static void AppendGrpcStatus(HttpHeaderBlock headers, GrpcStatusCode code, ReadOnlySpan<byte> message, Span<byte> scratch)
    {
        Span<byte> digits = stackalloc byte[3];
        System.Buffers.Text.Utf8Formatter.TryFormat((int)code, digits, out int n);
        headers.Append(GrpcProtocol.StatusName, digits[..n]);
        int length = GrpcProtocol.EncodeMessage(message.TrimEnd((byte)'\n'), scratch);
        headers.Append(GrpcProtocol.MessageName, scratch[..length]);
    }

    /// <summary>
    /// Ends a gRPC response whose head already went out with the proxy's error as the call's status: the body bytes
    /// still held, then trailers with grpc-status and grpc-message (a deadline that ran out mid-stream reaches the
    /// client as DEADLINE_EXCEEDED). False when the stream could not take them.
    /// </summary>
    private async ValueTask<bool> WriteGrpcErrorTrailersAsync(HttpExchange exchange)
    {
        ResponseBodyBuffer held = _h2Body!;
        bool sent = held.WrittenCount == 0 || await _stream!.WriteDataAsync(held.WrittenMemory, endStream: false).ConfigureAwait(false);
        held.Clear();
        if (!sent) return false;
        PrepareGrpcErrorTrailers(exchange);
        return await _stream!.WriteTrailersAsync(exchange.ResponseTrailers).ConfigureAwait(false);
    }

    private void PrepareGrpcErrorTrailers(HttpExchange exchange)
    {
        HttpHeaderBlock trailers = exchange.ResponseTrailers;
        trailers.Clear();
        ReadOnlySpan<byte> message = ProxyErrors.Body(exchange.Outcome.Error);
        AppendGrpcStatus(trailers, GrpcProtocol.FromProxyError(exchange.Outcome.Error), message, _h2Body!.GetSpan(message.Length * 3));
    }

    /// <summary>Adds "name: value\r\n" lines (what filters and route replies give the HTTP/1.1 writer) as fields.</summary>
    private static void AppendFieldLines(HttpHeaderBlock headers, ReadOnlySpan<byte> lines)
    {
        Span<byte> lower = stackalloc byte[256];
        while (!lines.IsEmpty)
        {
            int end = lines.IndexOf("\r\n"u8);
            ReadOnlySpan<byte> line = end < 0 ? lines : lines[..end];
            lines = end < 0 ? default : lines[(end + 2)..];
            int colon = line.IndexOf((byte)':');
            if (colon <= 0) continue;
            ReadOnlySpan<byte> name = line[..colon].Trim((byte)' ');
            ReadOnlySpan<byte> value = line[(colon + 1)..].Trim((byte)' ');
            // HTTP/2 field names are lower case (RFC 9113 §8.2.1).
            if (name.Length > lower.Length) continue;
            System.Text.Ascii.ToLower(name, lower, out _);
            headers.Append(lower[..name.Length], value);
        }
    }

    /// <summary>A redirect or direct response of a route, as field lines and a body, for an HTTP/2 stream.</summary>
    private void PrepareHttp2RouteReply(HttpExchange exchange, Route route, ReadOnlySpan<byte> filterHeaders, bool headOnly)
    {
        HttpRequestHead request = exchange.Request;
        if (route.Redirect is { } redirect)
        {
            int n = RouteActions.WriteLocationField(route, request.Path, request.Authority, ref exchange.RouteScratch);
            PrepareHttp2LocalReply(exchange, redirect.Status, default, exchange.RouteScratch.AsSpan(0, n), headOnly);
            AppendFieldLines(exchange.Response.Headers, filterHeaders);
            return;
        }
        RouteDirectResponse direct = route.DirectResponse!;
        PrepareHttp2LocalReply(exchange, direct.Status, direct.Body, filterHeaders, headOnly);
    }

    /// <summary>
    /// The response body bytes of one HTTP/2 stream between two DATA writes: the HTTP/1.1 body decoder writes here and
    /// the processor hands what it holds to the stream. One per processor, grown rarely, never shrunk.
    /// </summary>
    internal sealed class ResponseBodyBuffer : IBufferWriter<byte>
    {
        private byte[] _buffer = new byte[16 * 1024];
        private int _written;

        public int WrittenCount => _written;
        public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

        public void Clear() => _written = 0;

        public void Advance(int count) => _written += count;

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            Ensure(sizeHint);
            return _buffer.AsMemory(_written);
        }

        public Span<byte> GetSpan(int sizeHint = 0)
        {
            Ensure(sizeHint);
            return _buffer.AsSpan(_written);
        }

        public void Write(ReadOnlySpan<byte> data)
        {
            data.CopyTo(GetSpan(data.Length));
            _written += data.Length;
        }

        private void Ensure(int sizeHint)
        {
            int need = Math.Max(sizeHint, 1);
            if (_buffer.Length - _written >= need) return;
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _written + need));
        }
    }
}
