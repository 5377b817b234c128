// The client role of the connection engine (for upstream pools): the preface from our side, odd stream ids opened
// by OpenStreamAsync, response heads (1xx skipped, §8.1) and bodies read like a server reads requests. The pool
// itself - choosing a connection, retrying REFUSED_STREAM - is not here.
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using FastPath.Http;
using FastPath.Http2.Frames;

namespace FastPath.Http2;

internal sealed partial class Http2Connection
{
    // Completed by the peer's first SETTINGS (its stream limit and windows are known from then on); never faults.
    private readonly TaskCompletionSource _peerSettingsApplied = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Completes once the peer's first SETTINGS frame is applied. A pool opens streams beyond the first only after it,
    /// so a burst never exceeds a SETTINGS_MAX_CONCURRENT_STREAMS it has not seen yet (those streams would be refused).
    /// </summary>
    public Task PeerSettingsReceived => _peerSettingsApplied.Task;

    /// <summary>The most streams this client connection opens at once: the peer's limit, or ours if lower.</summary>
    public uint StreamCap
    {
        get { lock (_sync) return StreamCapLocked; }
    }

    private uint StreamCapLocked => Math.Min(_peerSettings.MaxConcurrentStreams, _limits.MaxOpenStreams);

    /// <summary>A client connection over <paramref name="transport"/>; RunAsync reads responses, OpenStreamAsync sends requests.</summary>
    /// <param name="secure">The transport is TLS: every request's :scheme is https, whatever the downstream spoke
    /// (servers such as Kestrel refuse an http :scheme on a TLS connection).</param>
    /// <param name="maxStreams">Streams this connection opens in its life before it retires (no new streams, closed
    /// once they end, with GOAWAY); 0: no limit (Envoy's max_requests_per_connection).</param>
    public static Http2Connection ForClient(IDuplexPipe transport, Http2ConnectionLimits? limits = null, bool secure = false, int maxStreams = 0) =>
        new(transport, null, limits, isClient: true, secure) { _maxStreams = maxStreams };

    /// <summary>
    /// Sends a request head on a new stream. Null when no stream can be opened here: the peer's
    /// SETTINGS_MAX_CONCURRENT_STREAMS is reached, the peer sent GOAWAY, stream ids ran out, or the connection ended.
    /// The caller owns the stream until it calls <see cref="Http2Stream.Complete"/>.
    /// </summary>
    public ValueTask<Http2Stream?> OpenStreamAsync(HttpRequestHead request, bool endStream)
    {
        Http2Stream stream;
        lock (_sync)
        {
            if (!_isClient) throw new InvalidOperationException("Only a client connection opens streams.");
            if (_outputClosed || _peerGoAway || _retiring || _liveStreams >= StreamCapLocked || _lastStreamId >= int.MaxValue - 2)
                return new ValueTask<Http2Stream?>((Http2Stream?)null);
            if (_maxStreams > 0 && ++_streamsOpened >= _maxStreams) _retiring = true;
            uint id = _lastStreamId == 0 ? 1 : _lastStreamId + 2;
            _lastStreamId = id;
            stream = Rent();
            stream.Initialize(id, _limits.InitialStreamWindowSize, _peerSettings.InitialWindowSize);
            stream.HandlerStarted = true; // held by the caller until Complete
            _streams.Add(id, stream);

            _fieldBlock.ResetWrittenCount();
            _encoder.BeginBlock(_fieldBlock);
            _encoder.Encode(":method"u8, request.MethodBytes, _fieldBlock);
            if (request.Method != HttpMethod.Connect)
            {
                _encoder.Encode(":scheme"u8, _secure ? "https"u8 : request.SchemeStart >= 0 ? request.Scheme : "http"u8, _fieldBlock);
                _encoder.Encode(":path"u8, request.Path, _fieldBlock);
            }
            ReadOnlySpan<byte> authority = request.Authority;
            if (authority.IsEmpty)
            {
                int host = request.Headers.IndexOf(KnownHeader.Host);
                if (host >= 0) authority = request.Headers.Value(request.Headers[host]);
            }
            if (!authority.IsEmpty) _encoder.Encode(":authority"u8, authority, _fieldBlock);
            EncodeFields(request.Headers, skipHost: true);
            Http2FrameWriter.WriteHeaders(_writer, id, _fieldBlock.WrittenSpan, endStream, (int)_peerSettings.MaxFrameSize);
            stream.HeadersSent = true;
            SignalOutput();
            if (endStream) OnEndStreamSent(stream);
            if (!IsBacklogged) return new ValueTask<Http2Stream?>(stream);
            Block(stream);
        }
        return AwaitOpenedAsync(stream);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Http2Stream?> AwaitOpenedAsync(Http2Stream stream)
    {
        await AwaitDrainAsync(stream).ConfigureAwait(false);
        return stream;
    }

    internal ValueTask<bool> ReadResponseHeadAsync(Http2Stream stream)
    {
        lock (_sync)
        {
            if (stream.ResponseHeadReady) return new ValueTask<bool>(true);
            if (stream.Aborted || stream.State == Http2StreamState.Closed) return new ValueTask<bool>(false);
            // Whoever wakes the wait passes whether the head is in: a hundred responses awaited at once cost no
            // state machine each (the stream's signal is the value task's source).
            return stream.HeadSignal.WaitForValueAsync(ifSet: false);
        }
    }

    /// <summary>Wakes a pending response-head wait without a head (it then returns false with the stream intact).</summary>
    internal void WakeResponseHeadWaiter(Http2Stream stream)
    {
        lock (_sync) stream.HeadSignal.Set(stream.ResponseHeadReady);
    }

    internal void OnClientStreamCompleted(Http2Stream stream)
    {
        lock (_sync)
        {
            if (stream.HandlerDone) return;
            bool closedBefore = stream.State == Http2StreamState.Closed;
            stream.HandlerDone = true;
            if (!stream.BodyReaderCompleted) stream.CompleteBodyReader();
            if (!closedBefore) ResetStream(stream, Http2ErrorCode.CANCEL, countAsAbuse: false);
            else Release(stream);
        }
    }

    private void OnResponseHeaders(in Http2Frame frame)
    {
        uint id = frame.StreamId;
        if (_streams.TryGetValue(id, out Http2Stream? stream))
        {
            if (stream.State is Http2StreamState.Open or Http2StreamState.HalfClosedLocal)
            {
                // The response head (after any 1xx heads), or trailers once the head is in (§8.1).
                _blockStream = stream;
                _blockTrailers = stream.ResponseHeadReady;
                stream.HeaderState.Begin(_blockTrailers, response: true);
                if (_blockTrailers && !frame.EndStream) stream.HeaderState.Malformed = true;
                if (!_blockTrailers) stream.ResponseHead.Reset();
            }
            else
            {
                ResetStream(stream, Http2ErrorCode.STREAM_CLOSED, countAsAbuse: true);
            }
        }
        else if (id > _lastStreamId)
        {
            // §5.1 idle: a server cannot open odd streams.
            ConnectionError(Http2ErrorCode.PROTOCOL_ERROR, Http2ConnectionEndReason.ProtocolError);
            return;
        }
        // Closed (our RST_STREAM may have crossed the response): decoded into nothing, keeping HPACK in step.
        DecodeFragment(frame.Payload, frame.EndHeaders);
    }

    private void EndResponseBlock(Http2Stream stream)
    {
        ref Http2HeaderBlockState state = ref stream.HeaderState;
        if (state.Malformed || (!_blockTrailers && !state.HasStatus))
        {
            ResetStream(stream, Http2ErrorCode.PROTOCOL_ERROR, countAsAbuse: true); // §8.1.1
            return;
        }
        if (_blockTrailers)
        {
            OnEndStreamReceived(stream);
            return;
        }
        HttpResponseHead head = stream.ResponseHead;
        if (head.StatusCode < 200)
        {
            // §8.1: an interim response; the final head follows. An interim head cannot end the stream.
            if (_blockEndStream) ResetStream(stream, Http2ErrorCode.PROTOCOL_ERROR, countAsAbuse: true);
            return;
        }
        head.Version = HttpVersion.Http2;
        head.KeepAlive = true;
        head.ContentLength = state.ContentLength;
        head.Framing = state.ContentLength >= 0 ? BodyFraming.ContentLength : _blockEndStream ? BodyFraming.None : BodyFraming.Chunked;
        // A response's content-length is reported, not enforced against DATA: HEAD and 304 responses carry one
        // with no body (RFC 9110 §8.6).
        state.ContentLength = -1;
        stream.ResponseHeadReady = true;
        // The waiting request runs on the read loop once this batch is read (ResumeHeadWaiters), as the server role
        // runs new streams: a hop to the thread pool per response cost a work item and often a thread wake-up.
        if (stream.HeadSignal.TakeWaiter()) _headWaiters.Add(stream);
        if (_blockEndStream) OnEndStreamReceived(stream);
    }

    private void RefuseStreamsAbove(uint lastStreamId)
    {
        foreach (Http2Stream stream in _streams.Values)
        {
            if (stream.StreamId <= lastStreamId) continue;
            AbortStream(stream, Http2ErrorCode.REFUSED_STREAM);
            _pendingClose.Add(stream);
        }
        foreach (Http2Stream stream in _pendingClose) CloseStream(stream, resetByUs: false);
        _pendingClose.Clear();
    }
}
