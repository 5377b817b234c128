// One HTTP/2 stream as the application sees it (RFC 9113 §5.1, §8.1): the request head once complete, the request
// body as a PipeReader with back-pressure tied to WINDOW_UPDATE, trailers, and the response side. Pooled per
// connection with its buffers, so a keep-alive connection allocates nothing per stream in steady state.
using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using FastPath.Http;
using FastPath.Http2.FlowControl;

namespace FastPath.Http2;

/// <summary>Stream states of §5.1; reserved states never occur because push is not used.</summary>
internal enum Http2StreamState : byte
{
    Idle = 0,
    Open,
    HalfClosedLocal,
    HalfClosedRemote,
    Closed,
}

/// <summary>What the connection calls for each request whose head is complete: the proxy's entry point.</summary>
internal interface IHttp2StreamHandler
{
    /// <summary>
    /// Runs on a thread-pool thread. The stream is valid until the returned task completes; a response not ended by
    /// then is ended (with an empty DATA frame if headers were sent, else RST_STREAM INTERNAL_ERROR).
    /// </summary>
    ValueTask ProcessStreamAsync(Http2Stream stream);

    /// <summary>
    /// The connection answered a request itself, without running the handler (431 for a field block over
    /// SETTINGS_MAX_HEADER_LIST_SIZE): for the handler's access log and counters. Called under the connection's lock;
    /// the stream's head holds what was decoded, valid only during the call.
    /// </summary>
    void OnStreamAnswered(Http2Stream stream, int status) { }
}

/// <summary>
/// Server role: handed to <see cref="IHttp2StreamHandler"/>; client role: returned by Http2Connection.OpenStreamAsync.
/// One writer at a time per stream (await each write before the next); reading the body may run concurrently.
/// The object is pooled: it must not be touched after the handler returned (server) or Complete (client).
/// </summary>
internal sealed class Http2Stream : IThreadPoolWorkItem
{
    private readonly Http2Connection _connection;
    private readonly Pipe _body;
    private readonly Http2RequestBodyReader _bodyReader;
    private readonly Action _onHandlerCompleted;
    private ValueTaskAwaiter _handlerAwaiter;

    internal Http2HeaderBlockState HeaderState;
    internal Http2StreamState State;
    internal Http2ReceiveWindow ReceiveWindow;
    internal Http2SendWindow SendWindow;
    internal readonly Http2AsyncSignal WriteSignal = new();
    /// <summary>Client role: set when the response head arrives or the stream ends.</summary>
    internal readonly Http2AsyncSignal HeadSignal = new();
    internal bool ResponseHeadReady;
    private HttpResponseHead? _responseHead;
    /// <summary>Body octets written to the pipe and not yet consumed: returned to the connection window if the reader quits.</summary>
    internal long Buffered;
    internal long DataReceived;
    internal bool BodyWriterCompleted;
    /// <summary>The request ended with its head: the body pipe was left untouched, so it needs no reset.</summary>
    private bool _bodyEmpty;
    internal bool HandlerStarted, HandlerDone;
    internal bool HeadersSent, EndStreamSent, Aborted;
    internal bool Blocked;
    /// <summary>Connection time (ms) since which the writer waits for send window; -1 when it does not.</summary>
    internal long StallSince = -1;
    /// <summary>Connection time (ms) when the stream went back to the connection's pool.</summary>
    internal long PooledAt;

    public Http2Stream(Http2Connection connection)
    {
        _connection = connection;
        // No pause threshold: flow control already bounds what the peer may send (our advertised window), and the
        // read loop must never wait on one stream's reader. Reader continuations go to the thread pool.
        _body = new Pipe(new PipeOptions(pool: FastPath.Transport.BlockPool.Http2Streams, readerScheduler: PipeScheduler.ThreadPool,
            writerScheduler: PipeScheduler.Inline, pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false));
        _bodyReader = new Http2RequestBodyReader(this);
        _bodyReader.Attach(_body.Reader);
        _onHandlerCompleted = OnHandlerTaskCompleted;
    }

    public uint StreamId { get; private set; }

    /// <summary>Method, path, authority, scheme and fields; complete when the handler is called.</summary>
    public HttpRequestHead RequestHead { get; } = new();

    /// <summary>The request body; reading it returns flow-control credit to the peer.</summary>
    public PipeReader RequestBody => _bodyReader;

    /// <summary>Client role: the response head, complete once <see cref="ReadResponseHeadAsync"/> returned true.</summary>
    public HttpResponseHead ResponseHead => _responseHead ??= new HttpResponseHead();

    /// <summary>Client role: the response body (the same inbound reader as a server's request body).</summary>
    public PipeReader ResponseBody => _bodyReader;

    /// <summary>Client role: the response's trailer fields, valid once the body has ended.</summary>
    public HttpHeaderBlock ResponseTrailers => RequestTrailers;

    /// <summary>Client role: waits for the final (non-1xx) response head; false when the stream ended without one.</summary>
    public ValueTask<bool> ReadResponseHeadAsync() => _connection.ReadResponseHeadAsync(this);

    /// <summary>
    /// Client role: ends a pending <see cref="ReadResponseHeadAsync"/> early with false while the stream stays open (a
    /// caller's timer: it polls an upload or enforces a timeout; <see cref="IsAborted"/> tells the cases apart).
    /// </summary>
    public void WakeResponseHeadWait() => _connection.WakeResponseHeadWaiter(this);

    /// <summary>Client role: the caller is done with the stream; one not yet finished both ways is reset with CANCEL.</summary>
    public void Complete() => _connection.OnClientStreamCompleted(this);

    /// <summary>Trailer fields (§8.1), valid once the body reader has seen the end of the body.</summary>
    public HttpHeaderBlock RequestTrailers { get; } = new();

    public bool HasRequestTrailers => RequestTrailers.Count > 0;

    /// <summary>Why the stream ended early, once it did (peer RST_STREAM, a stream error, a stalled send window).</summary>
    public Http2ErrorCode ResetCode { get; internal set; }

    public bool IsAborted => Aborted;

    internal PipeWriter BodyWriter => _body.Writer;

    internal bool BodyReaderCompleted => _bodyReader.IsCompleted;

    internal bool CanWrite => !Aborted && !EndStreamSent;

    /// <summary>Sends the response head (§8.3.2 :status first); false when the stream can no longer send.</summary>
    public ValueTask<bool> WriteHeadersAsync(HttpResponseHead head, bool endStream) =>
        _connection.WriteResponseHeadersAsync(this, head, endStream);

    /// <summary>Sends body octets within the peer's windows and max frame size; waits (without spinning) while they are closed.</summary>
    public ValueTask<bool> WriteDataAsync(ReadOnlyMemory<byte> data, bool endStream) =>
        _connection.WriteDataAsync(this, data, endStream);

    /// <summary>As above for a body in a sequence (what a PipeReader from the other side of the proxy yields).</summary>
    public ValueTask<bool> WriteDataAsync(ReadOnlySequence<byte> data, bool endStream)
    {
        if (data.IsSingleSegment) return WriteDataAsync(data.First, endStream);
        return WriteSegmentsAsync(data, endStream);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WriteSegmentsAsync(ReadOnlySequence<byte> data, bool endStream)
    {
        // END_STREAM goes with the last segment (TryGet's next position after it is not data.End, so compare nothing).
        ReadOnlySequence<byte>.Enumerator segments = data.GetEnumerator();
        bool more = segments.MoveNext();
        while (more)
        {
            ReadOnlyMemory<byte> segment = segments.Current;
            more = segments.MoveNext();
            if (!await WriteDataAsync(segment, endStream && !more).ConfigureAwait(false)) return false;
        }
        return true;
    }

    /// <summary>Ends the response with trailer fields (a HEADERS frame with END_STREAM, §8.1).</summary>
    public ValueTask<bool> WriteTrailersAsync(HttpHeaderBlock trailers) => _connection.WriteTrailersAsync(this, trailers);

    /// <summary>Ends the stream at once with RST_STREAM (§6.4).</summary>
    public void Reset(Http2ErrorCode errorCode) => _connection.ResetFromApplication(this, errorCode);

    internal void Initialize(uint streamId, int receiveWindow, uint sendWindow)
    {
        StreamId = streamId;
        State = Http2StreamState.Open;
        ReceiveWindow = new Http2ReceiveWindow(receiveWindow);
        SendWindow = new Http2SendWindow(sendWindow);
        HeaderState = default;
        Buffered = DataReceived = 0;
        BodyWriterCompleted = HandlerStarted = HandlerDone = HeadersSent = EndStreamSent = Aborted = Blocked = false;
        StallSince = -1;
        ResetCode = Http2ErrorCode.NO_ERROR;
        WriteSignal.Clear();
        HeadSignal.Clear();
        ResponseHeadReady = false;
    }

    /// <summary>Makes the stream reusable: both pipe ends are complete, the head and trailers are forgotten.</summary>
    internal void Recycle()
    {
        if (!_bodyEmpty) _body.Reset();
        _bodyEmpty = false;
        _bodyReader.Attach(_body.Reader);
        RequestHead.Reset();
        RequestTrailers.Clear();
        _responseHead?.Reset();
        _handlerAwaiter = default;
    }

    internal void CompleteBodyReader() => _bodyReader.Complete();

    /// <summary>
    /// The request ended with its head, before its handler ran: the body is empty and its pipe is never used. Both
    /// of the pipe's ends would otherwise be completed and the pipe reset for every bodiless request.
    /// </summary>
    internal void EndBodyEmpty()
    {
        BodyWriterCompleted = true;
        _bodyEmpty = true;
        _bodyReader.AttachEmpty();
    }

    internal void OnBodyConsumed(int length) => _connection.OnBodyConsumed(this, length);

    internal void OnBodyReaderCompleted() => _connection.OnBodyReaderCompleted(this);

    void IThreadPoolWorkItem.Execute()
    {
        ValueTask task;
        try
        {
            task = _connection.Handler.ProcessStreamAsync(this);
        }
        catch (Exception)
        {
            _connection.OnHandlerCompleted(this, failed: true);
            return;
        }
        _handlerAwaiter = task.GetAwaiter();
        if (task.IsCompleted) OnHandlerTaskCompleted();
        else _handlerAwaiter.UnsafeOnCompleted(_onHandlerCompleted);
    }

    private void OnHandlerTaskCompleted()
    {
        bool failed = false;
        try
        {
            _handlerAwaiter.GetResult();
        }
        catch (Exception)
        {
            failed = true;
        }
        _handlerAwaiter = default;
        _connection.OnHandlerCompleted(this, failed);
    }
}
