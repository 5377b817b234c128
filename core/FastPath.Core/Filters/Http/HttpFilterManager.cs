// Runs one stream's filters (Envoy's FilterManager): rents each filter from its factory when the stream starts,
// iterates the request hooks forward and the response hooks backward, remembers where a filter stopped, and is the
// callback surface filters use to resume or to answer locally. One per pooled HttpExchange, so it allocates nothing
// per request; a stopped stream waits on a resettable ManualResetValueTaskSourceCore, which the connection's own
// state machine awaits without boxing anything new.
using System.Buffers;
using System.Buffers.Text;
using System.Threading.Tasks.Sources;
using FastPath.Http;
using FastPath.Http1;
using FastPath.Upstream;

namespace FastPath.Filters.Http;

internal sealed class HttpFilterManager : IValueTaskSource
{
    private const int LocalBodyMax = 4096;

    private HttpFilter[] _filters = new HttpFilter[8];
    // The chain whose rented instances _filters holds (kept across streams; see Begin).
    private HttpFilterChain? _cachedChain;
    private int _count;
    private int _decodeIndex;
    private int _encodeIndex;
    private int _signalled;
    // Continuations run on the thread pool: a timer thread that resumes a delayed stream must not carry the request.
    private ManualResetValueTaskSourceCore<bool> _resume = new() { RunContinuationsAsynchronously = true };
    private byte[] _localHeaders = [];
    private int _localHeadersLength;
    private byte[] _localBody = [];
    private int _localBodyLength;
    private readonly BodyTap _requestTap;
    private readonly BodyTap _responseTap;

    public HttpFilterManager()
    {
        _requestTap = new BodyTap(this, request: true);
        _responseTap = new BodyTap(this, request: false);
    }

    public HttpRequestHead Request { get; private set; } = null!;
    public HttpResponseHead Response { get; private set; } = null!;
    /// <summary>The downstream peer's address as text (what x-forwarded-for gets).</summary>
    public byte[] ClientAddress { get; private set; } = [];
    public HttpFilterChain? Chain { get; private set; }

    /// <summary>Flags that are not errors (DI), for the access log; the connection manager copies them to the outcome.</summary>
    public ResponseFlags ExtraFlags;

    public bool HasLocalReply { get; private set; }
    public int LocalReplyStatus { get; private set; }
    public ProxyError LocalReplyError { get; private set; }
    /// <summary>Complete "name: value\r\n" lines for the local reply (Http1HeadWriter.WriteLocalResponse extraHeaders).</summary>
    public ReadOnlySpan<byte> LocalReplyHeaders => _localHeaders.AsSpan(0, _localHeadersLength);
    public ReadOnlySpan<byte> LocalReplyBody => _localBody.AsSpan(0, _localBodyLength);

    public bool IsActive => _count > 0;

    /// <summary>The tap the request-body copy feeds the data hooks through, only when the chain wants request bodies.</summary>
    public IBodyTap? RequestBodyTap => Chain is { WantsRequestBody: true } ? _requestTap : null;

    /// <summary>Likewise for the response body; null keeps the body streaming untouched.</summary>
    public IBodyTap? ResponseBodyTap => Chain is { WantsResponseBody: true } ? _responseTap : null;

    /// <summary>
    /// Rents the chain's filters for a new stream. When the previous stream on this manager ran the same chain (the
    /// common case: a pooled exchange serving the same route), its instances are kept, already reset, and no pool is
    /// touched; a different chain sends them back to their factories first.
    /// </summary>
    public void Begin(HttpFilterChain chain, HttpRequestHead request, HttpResponseHead response, byte[] clientAddress)
    {
        HttpFilterFactory[] factories = chain.Factories;
        if (!ReferenceEquals(chain, _cachedChain))
        {
            ReleaseFilters();
            if (_filters.Length < factories.Length) _filters = new HttpFilter[factories.Length];
            for (int i = 0; i < factories.Length; i++) _filters[i] = factories[i].Rent();
            _cachedChain = chain;
        }
        _count = factories.Length;
        Chain = chain;
        Request = request;
        Response = response;
        ClientAddress = clientAddress;
        _decodeIndex = 0;
        _encodeIndex = _count - 1;
    }

    /// <summary>
    /// Runs the request-header hooks from where iteration stands. StopIteration means a filter stopped (await
    /// <see cref="WaitAsync"/> unless <see cref="HasLocalReply"/>, then call again) or answered locally.
    /// </summary>
    public FilterHeadersStatus DecodeHeaders()
    {
        if (HasLocalReply) return FilterHeadersStatus.StopIteration;
        while (_decodeIndex < _count)
        {
            FilterHeadersStatus status = _filters[_decodeIndex].OnRequestHeaders(this);
            if (HasLocalReply || status == FilterHeadersStatus.StopIteration) return FilterHeadersStatus.StopIteration;
            _decodeIndex++;
        }
        return FilterHeadersStatus.Continue;
    }

    /// <summary>Runs the response-header hooks, last filter first, from where iteration stands.</summary>
    public FilterHeadersStatus EncodeHeaders()
    {
        while (_encodeIndex >= 0)
        {
            if (_filters[_encodeIndex].OnResponseHeaders(this) == FilterHeadersStatus.StopIteration) return FilterHeadersStatus.StopIteration;
            _encodeIndex--;
        }
        return FilterHeadersStatus.Continue;
    }

    /// <summary>
    /// Lets the response-header hooks see a local reply before it is written (Envoy runs encoder filters on local
    /// replies too): from the filter before the one that answered back to the first, or every filter for an error the
    /// proxy answered itself. The hooks see a head with the status and no upstream fields; what they add joins
    /// <see cref="LocalReplyHeaders"/> (so a rate-limited 429 still carries the CORS headers a browser needs to read
    /// it). Synchronous: a StopIteration here is not waited for.
    /// </summary>
    public void EncodeLocalReply(int status)
    {
        HttpResponseHead response = Response;
        response.Reset();
        response.StatusCode = status;
        for (int i = HasLocalReply ? _decodeIndex - 1 : _count - 1; i >= 0; i--) _filters[i].OnResponseHeaders(this);
        HttpHeaderBlock headers = response.Headers;
        for (int i = 0; i < headers.Count; i++)
        {
            ref HeaderEntry e = ref headers[i];
            if (!e.Skip) AddLocalReplyHeader(headers.Name(e), headers.Value(e));
        }
    }

    /// <summary>Passes one request-body chunk through the filters (only when the chain wants request bodies).</summary>
    public FilterDataStatus DecodeData(in ReadOnlySequence<byte> data, bool endStream)
    {
        for (int i = 0; i < _count; i++)
            if (_filters[i].OnRequestData(this, data, endStream) == FilterDataStatus.StopIteration || HasLocalReply) return FilterDataStatus.StopIteration;
        return FilterDataStatus.Continue;
    }

    public FilterTrailersStatus DecodeTrailers(HttpHeaderBlock trailers)
    {
        for (int i = 0; i < _count; i++)
            if (_filters[i].OnRequestTrailers(this, trailers) == FilterTrailersStatus.StopIteration || HasLocalReply) return FilterTrailersStatus.StopIteration;
        return FilterTrailersStatus.Continue;
    }

    public FilterDataStatus EncodeData(in ReadOnlySequence<byte> data, bool endStream)
    {
        for (int i = _count - 1; i >= 0; i--)
            if (_filters[i].OnResponseData(this, data, endStream) == FilterDataStatus.StopIteration) return FilterDataStatus.StopIteration;
        return FilterDataStatus.Continue;
    }

    public FilterTrailersStatus EncodeTrailers(HttpHeaderBlock trailers)
    {
        for (int i = _count - 1; i >= 0; i--)
            if (_filters[i].OnResponseTrailers(this, trailers) == FilterTrailersStatus.StopIteration) return FilterTrailersStatus.StopIteration;
        return FilterTrailersStatus.Continue;
    }

    /// <summary>Completes when the stopped filter resumes the stream or answers it. Await at most once per stop.</summary>
    public ValueTask WaitAsync() => new(this, _resume.Version);

    /// <summary>Called by the filter that stopped the request headers: iteration goes on with the next filter.</summary>
    public void ContinueDecoding()
    {
        _decodeIndex++;
        Signal();
    }

    /// <summary>Called by the filter that stopped the response headers.</summary>
    public void ContinueEncoding()
    {
        _encodeIndex--;
        Signal();
    }

    /// <summary>
    /// Answers the request from the proxy (request path only): no later filter runs and nothing is forwarded. Add
    /// headers with <see cref="AddLocalReplyHeader(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/> before calling this.
    /// </summary>
    public void SendLocalReply(int status, ProxyError error, ReadOnlySpan<byte> body)
    {
        if (HasLocalReply) return;
        LocalReplyStatus = status;
        LocalReplyError = error;
        if (body.Length > LocalBodyMax) body = body[..LocalBodyMax];
        if (_localBody.Length < body.Length) _localBody = new byte[Math.Max(256, body.Length)];
        body.CopyTo(_localBody);
        _localBodyLength = body.Length;
        HasLocalReply = true;
        Signal();
    }

    public void AddLocalReplyHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        Span<byte> line = ReserveHeaderLine(name.Length + value.Length + 4);
        name.CopyTo(line);
        ": "u8.CopyTo(line[name.Length..]);
        value.CopyTo(line[(name.Length + 2)..]);
        "\r\n"u8.CopyTo(line[(name.Length + 2 + value.Length)..]);
        _localHeadersLength += name.Length + value.Length + 4;
    }

    public void AddLocalReplyHeader(ReadOnlySpan<byte> name, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out int n);
        AddLocalReplyHeader(name, digits[..n]);
    }

    private Span<byte> ReserveHeaderLine(int length)
    {
        int need = _localHeadersLength + length;
        if (_localHeaders.Length < need)
        {
            byte[] next = new byte[Math.Max(512, need * 2)];
            _localHeaders.AsSpan(0, _localHeadersLength).CopyTo(next);
            _localHeaders = next;
        }
        return _localHeaders.AsSpan(_localHeadersLength, length);
    }

    /// <summary>Gives the kept filters back to their factories' pools (a different chain, or the exchange is dropped).</summary>
    public void ReleaseFilters()
    {
        if (_cachedChain is null) return;
        for (int i = 0; i < _cachedChain.Factories.Length; i++)
        {
            _filters[i].Release();
            _filters[i] = null!;
        }
        _cachedChain = null;
    }

    private void Signal()
    {
        if (Interlocked.Exchange(ref _signalled, 1) == 0) _resume.SetResult(true);
    }

    /// <summary>Ends the stream: every filter is reset (kept for the next stream of the same chain) and the manager is
    /// ready for the next request.</summary>
    public void End()
    {
        for (int i = 0; i < _count; i++) _filters[i].Reset();
        _count = 0;
        _decodeIndex = _encodeIndex = 0;
        Chain = null;
        Request = null!;
        Response = null!;
        ClientAddress = [];
        ExtraFlags = ResponseFlags.None;
        HasLocalReply = false;
        LocalReplyStatus = 0;
        LocalReplyError = ProxyError.None;
        _localHeadersLength = _localBodyLength = 0;
        if (Volatile.Read(ref _signalled) != 0)
        {
            _resume.Reset();
            _signalled = 0;
        }
    }

    /// <summary>
    /// Feeds the body hooks while the body streams. Bodies are never buffered here: the data has already been decoded
    /// for forwarding, so a hook observes it (counts, hashes, inspects); a StopIteration on data does not hold it back.
    /// </summary>
    private sealed class BodyTap(HttpFilterManager stream, bool request) : IBodyTap
    {
        public void OnData(in ReadOnlySequence<byte> data)
        {
            if (request) stream.DecodeData(data, endStream: false);
            else stream.EncodeData(data, endStream: false);
        }

        public void OnEnd(HttpHeaderBlock? trailers)
        {
            if (request) stream.DecodeData(ReadOnlySequence<byte>.Empty, endStream: true);
            else stream.EncodeData(ReadOnlySequence<byte>.Empty, endStream: true);
            if (trailers is not { Count: > 0 }) return;
            if (request) stream.DecodeTrailers(trailers);
            else stream.EncodeTrailers(trailers);
        }
    }

    void IValueTaskSource.GetResult(short token)
    {
        _resume.GetResult(token);
        // Ready for the next stop of this stream.
        _resume.Reset();
        Volatile.Write(ref _signalled, 0);
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _resume.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _resume.OnCompleted(continuation, state, token, flags);
}
