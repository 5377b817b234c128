// Request mirroring (Istio mirror + mirrorPercentage, Envoy request_mirror_policies). A share of requests is copied
// to another cluster with its Host suffixed "-shadow" (before any port, as Envoy does); the copy's answer is read up
// to its status line and dropped. The copy is fire-and-forget: it never delays or fails the main request, and at most
// max_in_flight copies per scope are outstanding — beyond that they are dropped and counted.
//
// A request without a body is copied when its head passes. One with a body is copied only if the body fits
// max_body_bytes (Envoy's per-request buffer limit spirit): the body hooks collect the decoded bytes into a pooled
// buffer while the body streams on to the main upstream untouched, and the copy leaves once the body is complete,
// framed with content-length (never chunked; request trailers are not copied). A body known or found to be larger,
// or one that never arrives whole (the client goes away, the request fails first), is not mirrored: skipped_body.
//
// A shadow endpoint that speaks HTTP/2 (protocol http2, or auto where the origin chose h2) gets the copy as a stream:
// the HTTP/1.1 head built here is parsed back into a request head and sent as HEADERS, the body as DATA, and the
// stream is reset (CANCEL) once the response head is in.
using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using FastPath.Http;
using FastPath.Http1;
using FastPath.LoadBalancing;
using FastPath.Upstream;
using FastPath.Upstream.Clusters;
using FastPath.Upstream.Pools;
using Prometheus;

namespace FastPath.Filters.Http;

internal sealed class MirrorFilterFactory : PooledHttpFilterFactory<MirrorFilter>
{
    private static readonly Counter Mirrored = Metrics.CreateCounter("fastpath_mirror_requests_total",
        "Mirrored request copies by target cluster and result (sent, dropped, skipped_body, failed, timeout).",
        new CounterConfiguration { LabelNames = ["cluster", "result"] });

    private int _inFlight;
    private int _buffers;

    public MirrorFilterFactory(Cluster cluster, double percentage, int maxInFlight, TimeSpan timeout, int maxBodyBytes, IRandomSource random)
    {
        MaxBodyBytes = maxBodyBytes;
        Cluster = cluster;
        Ppm = (uint)Math.Round(Math.Clamp(percentage, 0, 100) * 10_000);
        MaxInFlight = maxInFlight;
        Timeout = timeout;
        Random = random;
        Sent = Mirrored.WithLabels(cluster.Name, "sent");
        Dropped = Mirrored.WithLabels(cluster.Name, "dropped");
        SkippedBody = Mirrored.WithLabels(cluster.Name, "skipped_body");
        Failed = Mirrored.WithLabels(cluster.Name, "failed");
        TimedOut = Mirrored.WithLabels(cluster.Name, "timeout");
    }

    public Cluster Cluster { get; }
    public uint Ppm { get; }
    public int MaxInFlight { get; }
    public TimeSpan Timeout { get; }
    /// <summary>Largest body copied; 0 copies only requests without one (and then no body hook runs).</summary>
    public int MaxBodyBytes { get; }
    public IRandomSource Random { get; }
    public int InFlight => Volatile.Read(ref _inFlight);

    internal Counter.Child Sent { get; }
    internal Counter.Child Dropped { get; }
    internal Counter.Child SkippedBody { get; }
    internal Counter.Child Failed { get; }
    internal Counter.Child TimedOut { get; }

    public bool Draw() => Ppm >= FaultFilterFactory.Million || (Ppm > 0 && XorShift.Below(Random.NextUInt64(), FaultFilterFactory.Million) < Ppm);

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _inFlight) <= MaxInFlight) return true;
        Interlocked.Decrement(ref _inFlight);
        Dropped.Inc();
        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Pooled arrays (copies' heads and bodies) held right now: 0 whenever no copy is collected or in flight.</summary>
    public int BuffersHeld => Volatile.Read(ref _buffers);

    public byte[] RentBuffer(int minimumLength)
    {
        Interlocked.Increment(ref _buffers);
        return ArrayPool<byte>.Shared.Rent(minimumLength);
    }

    public void ReturnBuffer(byte[] buffer)
    {
        ArrayPool<byte>.Shared.Return(buffer);
        Interlocked.Decrement(ref _buffers);
    }

    public override bool WantsRequestBody => MaxBodyBytes > 0;

    protected override MirrorFilter Create() => new(this);
}

internal sealed class MirrorFilter(MirrorFilterFactory factory) : HttpFilter
{
    private static ReadOnlySpan<byte> ShadowSuffix => "-shadow"u8;
    private static ReadOnlySpan<byte> ContentLengthPrefix => "content-length: "u8;
    // Room kept after a head for "content-length: " + up to 20 digits + CRLF CRLF.
    private const int FramingRoom = 40;
    // A chunked body's buffer starts here and doubles (up to max_body_bytes): most mirrored bodies are small.
    private const int FirstChunkedBuffer = 4096;

    // The copy being collected while a drawn request's body streams. The body hooks run on the body-copy task while
    // the exchange can be ended (Reset) from the connection's, so these fields change only under _gate; _collecting
    // is read without it first, so a stream that is not mirrored never takes the lock.
    private readonly Lock _gate = new();
    private volatile bool _collecting;
    private UpstreamEndpoint? _endpoint;
    private byte[]? _head;
    private int _headLength;
    private byte[]? _body;
    private int _bodyLength;
    private long _contentLength;

    public override FilterHeadersStatus OnRequestHeaders(HttpFilterManager stream)
    {
        if (!factory.Draw()) return FilterHeadersStatus.Continue;
        HttpRequestHead request = stream.Request;
        bool hasBytes = request.HasBody && !(request.Framing == BodyFraming.ContentLength && request.ContentLength == 0);
        if (hasBytes && (request.Framing == BodyFraming.ContentLength ? request.ContentLength > factory.MaxBodyBytes : factory.MaxBodyBytes == 0))
        {
            factory.SkippedBody.Inc();
            return FilterHeadersStatus.Continue;
        }
        UpstreamEndpoint? endpoint = factory.Cluster.LoadBalancer.Pick(default);
        if (endpoint is null)
        {
            factory.Failed.Inc();
            return FilterHeadersStatus.Continue;
        }
        if (!hasBytes)
        {
            if (!factory.TryEnter()) return FilterHeadersStatus.Continue;
            // The head is copied now: the request's buffers go back to their pool when the main exchange ends.
            byte[] head = FormatHead(stream, endpoint, request.HasBody ? BodyFraming.ContentLength : BodyFraming.None, withBody: false, out int length);
            _ = RequestMirror.SendAsync(factory, endpoint, head, length, null, 0);
            return FilterHeadersStatus.Continue;
        }
        // The head is taken as this point of the chain sees it, without its closing empty line: the content-length
        // goes there once the body is complete (a chunked body's length is known only at its end).
        byte[] bodyHead = FormatHead(stream, endpoint, BodyFraming.None, withBody: true, out int headLength);
        lock (_gate)
        {
            if (_collecting) Abandon(); // a stream always ends (Reset) before the next begins; never leak a buffer regardless
            _endpoint = endpoint;
            _head = bodyHead;
            _headLength = headLength - 2;
            _contentLength = request.Framing == BodyFraming.ContentLength ? request.ContentLength : -1;
            _bodyLength = 0;
            _collecting = true;
        }
        return FilterHeadersStatus.Continue;
    }

    /// <summary>Collects the decoded body; at its end the copy is sent. Always Continue: the main body never waits.</summary>
    public override FilterDataStatus OnRequestData(HttpFilterManager stream, in ReadOnlySequence<byte> data, bool endStream)
    {
        if (!_collecting) return FilterDataStatus.Continue;
        UpstreamEndpoint endpoint;
        byte[] head;
        int headLength;
        byte[]? body;
        int bodyLength;
        lock (_gate)
        {
            if (!_collecting) return FilterDataStatus.Continue;
            if (!Append(data))
            {
                // Over max_body_bytes mid-stream (chunked): the copy is abandoned, the main body goes on.
                factory.SkippedBody.Inc();
                Abandon();
                return FilterDataStatus.Continue;
            }
            if (!endStream) return FilterDataStatus.Continue;
            // The buffers pass to the send, which returns them to the pool.
            endpoint = _endpoint!;
            head = _head!;
            headLength = _headLength;
            body = _body;
            bodyLength = _bodyLength;
            _endpoint = null;
            _head = _body = null;
            _headLength = _bodyLength = 0;
            _collecting = false;
        }
        if (!factory.TryEnter())
        {
            factory.ReturnBuffer(head);
            if (body is not null) factory.ReturnBuffer(body);
            return FilterDataStatus.Continue;
        }
        Span<byte> framing = head.AsSpan(headLength);
        ContentLengthPrefix.CopyTo(framing);
        Utf8Formatter.TryFormat(bodyLength, framing[ContentLengthPrefix.Length..], out int digits);
        "\r\n\r\n"u8.CopyTo(framing[(ContentLengthPrefix.Length + digits)..]);
        _ = RequestMirror.SendAsync(factory, endpoint, head, headLength + ContentLengthPrefix.Length + digits + 4, body, bodyLength);
        return FilterDataStatus.Continue;
    }

    /// <summary>Copies one decoded piece into the pooled buffer, growing it up to max_body_bytes; false past the limit.</summary>
    private bool Append(in ReadOnlySequence<byte> data)
    {
        if (data.IsEmpty) return true;
        long need = _bodyLength + data.Length;
        if (need > factory.MaxBodyBytes) return false;
        if (_body is null || need > _body.Length)
        {
            // A Content-Length body gets its whole size at once; a chunked one doubles.
            long size = _contentLength >= 0 ? _contentLength : Math.Min(factory.MaxBodyBytes, Math.Max(FirstChunkedBuffer, 2L * (_body?.Length ?? 0)));
            byte[] next = factory.RentBuffer((int)Math.Max(size, need));
            if (_body is not null)
            {
                _body.AsSpan(0, _bodyLength).CopyTo(next);
                factory.ReturnBuffer(_body);
            }
            _body = next;
        }
        data.CopyTo(_body.AsSpan(_bodyLength));
        _bodyLength = (int)need;
        return true;
    }

    /// <summary>Drops the copy being collected and returns its buffers (under _gate).</summary>
    private void Abandon()
    {
        if (_head is not null) factory.ReturnBuffer(_head);
        if (_body is not null) factory.ReturnBuffer(_body);
        _head = _body = null;
        _headLength = _bodyLength = 0;
        _endpoint = null;
        _collecting = false;
    }

    /// <summary>The stream ended (or the filter goes back to its pool) before the body was complete: the client went
    /// away, the body broke, or the request failed or was answered before its body was read. Nothing is sent.</summary>
    public override void Reset()
    {
        if (!_collecting) return;
        lock (_gate)
        {
            if (!_collecting) return;
            factory.SkippedBody.Inc();
            Abandon();
        }
    }

    /// <summary>The copy's head in a pooled array (with <see cref="FramingRoom"/> spare bytes at its end).</summary>
    private byte[] FormatHead(HttpFilterManager stream, UpstreamEndpoint endpoint, BodyFraming framing, bool withBody, out int length)
    {
        HttpRequestHead request = stream.Request;
        ReadOnlySpan<byte> authority = request.AuthorityStart >= 0 ? request.Authority : endpoint.NameUtf8;
        Span<byte> host = stackalloc byte[authority.Length + ShadowSuffix.Length];
        ShadowHost(authority, host);

        Span<byte> generatedId = stackalloc byte[RequestIdGenerator.Length];
        scoped ReadOnlySpan<byte> requestId;
        if (request.RequestIdIndex >= 0)
        {
            requestId = request.Headers.Value(request.Headers[request.RequestIdIndex]);
        }
        else
        {
            RequestIdGenerator.Write(generatedId);
            requestId = generatedId;
        }
        var fwd = new ForwardedFields
        {
            ClientAddress = stream.ClientAddress,
            Scheme = "http"u8,
            RequestId = requestId,
            FallbackHost = endpoint.NameUtf8,
            Host = host,
        };
        var writer = new ArrayBufferWriter<byte>(1024);
        // A body copy carries no trailers, so it must not announce any (RFC 9110 section 6.6.2): its Trailer fields are
        // hidden while the copy's head is written; the main request keeps them.
        Span<int> hidden = stackalloc int[4];
        int hiddenCount = 0;
        HttpHeaderBlock headers = request.Headers;
        if (withBody)
        {
            for (int i = 0; i < headers.Count && hiddenCount < hidden.Length; i++)
            {
                ref HeaderEntry e = ref headers[i];
                if (e.Id != KnownHeader.Trailer || e.Skip) continue;
                e.Skip = true;
                hidden[hiddenCount++] = i;
            }
        }
        Http1HeadWriter.WriteRequestHead(writer, request, framing, in fwd);
        for (int i = 0; i < hiddenCount; i++) headers[hidden[i]].Skip = false;
        byte[] copy = factory.RentBuffer(writer.WrittenCount + FramingRoom);
        writer.WrittenSpan.CopyTo(copy);
        length = writer.WrittenCount;
        return copy;
    }

    /// <summary>Envoy's shadow host: the suffix goes after the host name and before any port, so
    /// "example.com:8080" becomes "example.com-shadow:8080".</summary>
    internal static int ShadowHost(ReadOnlySpan<byte> authority, Span<byte> destination)
    {
        int colon = authority.LastIndexOf((byte)':');
        // A colon inside an IPv6 literal is not a port separator.
        if (colon >= 0 && authority.LastIndexOf((byte)']') > colon) colon = -1;
        int hostLength = colon >= 0 ? colon : authority.Length;
        authority[..hostLength].CopyTo(destination);
        ShadowSuffix.CopyTo(destination[hostLength..]);
        authority[hostLength..].CopyTo(destination[(hostLength + ShadowSuffix.Length)..]);
        return authority.Length + ShadowSuffix.Length;
    }

    public override void Release() => factory.Return(this);
}

/// <summary>Sends one mirrored copy and waits for its status line, off the request path.</summary>
internal static class RequestMirror
{
    /// <summary><paramref name="head"/> and <paramref name="body"/> are pooled arrays; this returns them.</summary>
    public static async Task SendAsync(MirrorFilterFactory factory, UpstreamEndpoint endpoint, byte[] head, int length, byte[]? body, int bodyLength)
    {
        UpstreamConnection? connection = null;
        using var timeout = new CancellationTokenSource(factory.Timeout);
        try
        {
            // The caller (request head or body path) only starts the copy: pool acquire, the copy of up to
            // max_body_bytes into the connection and the flush all run on the thread pool, never inline on its task.
            await Task.Yield();
            // As the proxy itself picks: an HTTP/2 cluster opens a stream; auto follows what the origin chose in ALPN.
            Http2ConnectionPool? h2 = endpoint.Pool.Http2Now;
            PoolLease lease = default;
            if (h2 is null)
            {
                lease = await endpoint.Pool.AcquireAsync().ConfigureAwait(false);
                if (lease.Http2Selected) h2 = endpoint.Pool.Http2;
            }
            if (h2 is not null)
            {
                bool? sent = await SendHttp2Async(h2, head, length, body, bodyLength, timeout.Token).ConfigureAwait(false);
                if (sent is { } ok)
                {
                    if (ok) factory.Sent.Inc();
                    else if (timeout.IsCancellationRequested) factory.TimedOut.Inc();
                    else factory.Failed.Inc();
                    return;
                }
                lease = await endpoint.Pool.AcquireAsync().ConfigureAwait(false); // the origin chose http/1.1 after all
            }
            if (lease.Connection is null)
            {
                factory.Failed.Inc();
                return;
            }
            connection = lease.Connection;
            connection.Output.Write(head.AsSpan(0, length));
            if (body is not null) connection.Output.Write(body.AsSpan(0, bodyLength));
            FlushResult flushed = await connection.Output.FlushAsync(timeout.Token).ConfigureAwait(false);
            if (flushed.IsCompleted)
            {
                factory.Failed.Inc();
                return;
            }
            PipeReader input = connection.Input;
            while (true)
            {
                ReadResult read = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
                bool gotStatusLine = read.Buffer.PositionOf((byte)'\n') is not null;
                input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                if (gotStatusLine)
                {
                    factory.Sent.Inc();
                    return;
                }
                if (read.IsCompleted || read.IsCanceled)
                {
                    factory.Failed.Inc();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            factory.TimedOut.Inc();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException
                                      or Microsoft.AspNetCore.Connections.ConnectionResetException or Microsoft.AspNetCore.Connections.ConnectionAbortedException)
        {
            factory.Failed.Inc();
        }
        finally
        {
            factory.ReturnBuffer(head);
            if (body is not null) factory.ReturnBuffer(body);
            // The rest of the answer is not wanted: the connection closes instead of being drained for reuse.
            connection?.Close();
            factory.Exit();
        }
    }

    /// <summary>
    /// The copy as an HTTP/2 stream: true once the response head came, false when it failed or timed out, null when
    /// the pool found the origin speaking http/1.1 (the caller sends it that way instead).
    /// </summary>
    private static async Task<bool?> SendHttp2Async(Http2ConnectionPool pool, byte[] head, int length, byte[]? body, int bodyLength,
        CancellationToken timeout)
    {
        HttpRequestHead? request = ParseHead(head, length);
        if (request is null) return false;
        Http2StreamLease lease = await pool.OpenStreamAsync(request, endStream: body is null).ConfigureAwait(false);
        if (lease.Http11Selected) return null;
        if (lease.Stream is not { } stream) return false;
        try
        {
            // The timeout ends a wait for the head early; a send stalled on a closed window is reset by the connection.
            using CancellationTokenRegistration wake = timeout.UnsafeRegister(static s => ((FastPath.Http2.Http2Stream)s!).WakeResponseHeadWait(), stream);
            if (body is not null && !await stream.WriteDataAsync(body.AsMemory(0, bodyLength), endStream: true).ConfigureAwait(false)) return false;
            return await stream.ReadResponseHeadAsync().ConfigureAwait(false);
        }
        finally
        {
            stream.Complete(); // the answer is not wanted: reset with CANCEL unless it already ended
        }
    }

    /// <summary>The request head this filter wrote, parsed back (the HTTP/2 encoder takes a head, not bytes).</summary>
    private static HttpRequestHead? ParseHead(byte[] head, int length)
    {
        var request = new HttpRequestHead();
        var handler = new Http1RequestHandler(request);
        var state = new Http1HeadParseState();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(head, 0, length));
        // The head passed the listener's limits once already (whatever they were): parse it under generous ones.
        var limits = new Http1Limits(MaxStartLineBytes: length, MaxHeaderBytes: length, MaxHeaderCount: 10_000);
        if (Http1Parser.ParseHead(ref reader, ref handler, ref state, in limits, out _) != Http1ParseResult.Complete
            || handler.Complete() != RequestRejectionReason.None)
            return null;
        // The parser sets x-request-id aside for the proxy to write once; here it is the id to send.
        if (request.RequestIdIndex >= 0) request.Headers[request.RequestIdIndex].Skip = false;
        return request;
    }
}
