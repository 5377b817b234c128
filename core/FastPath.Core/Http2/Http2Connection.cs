// The HTTP/2 connection engine (RFC 9113), server role: the preface and SETTINGS exchange, the frame dispatch and
// stream state machine (§5.1), errors mapped to RST_STREAM or GOAWAY (§5.4), flow control both ways (§6.9), the flood
// and reset defences, and graceful shutdown (§6.8). Frames are read by one loop; streams write from their own
// threads under one lock; one output loop flushes, so a PipeWriter never sees two flushes at once.
// Both roles share it: the stream table, windows, output and defences are role-neutral; what differs (preface
// direction, stream id parity, which side's HEADERS open streams, request or response fields) is confined to the
// preface, OnHeaders and the field handler. The client side is in Http2Connection.Client.cs.
using System.Buffers;
using System.IO.Pipelines;
using FastPath.Http2.FlowControl;
using FastPath.Http2.Frames;
using FastPath.Http2.HPack;

namespace FastPath.Http2;

/// <summary>Why a connection ended, for tests and stats; each defence has its own reason.</summary>
internal enum Http2ConnectionEndReason : byte
{
    None = 0,
    PeerClosed,
    GracefulShutdown,
    ProtocolError,
    /// <summary>Too many streams reset per interval: rapid reset (CVE-2023-44487) or MadeYouReset (CVE-2025-8671).</summary>
    ResetFlood,
    /// <summary>Too many SETTINGS, PING and PRIORITY frames per interval (CVE-2019-9512, -9515, -9516).</summary>
    ControlFrameFlood,
    /// <summary>Too many WINDOW_UPDATE frames per interval.</summary>
    WindowUpdateFlood,
    /// <summary>Too many consecutive frames without payload (CVE-2019-9518).</summary>
    EmptyFrameFlood,
    /// <summary>A field block's octets over the header list limit (CONTINUATION flood, CVE-2024-27316).</summary>
    HeaderBlockTooLarge,
    /// <summary>A decoded header list over the limit (HPACK bomb).</summary>
    HeaderListTooLarge,
    SettingsTimeout,
    OutputStalled,
    TransportError,
    /// <summary>A keepalive PING went unanswered: the peer or the path to it is gone.</summary>
    KeepAliveTimeout,
}

internal sealed partial class Http2Connection
{
    private const ulong ShutdownPingOpaque = 0x4650_2D53_6875_7400; // "FP-Shut\0"
    private const ulong KeepAlivePingOpaque = 0x4650_2D4B_6565_7041; // "FP-KeepA"
    private const int RecentlyClosedCount = 64;

    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly CountingWriter _writer;
    private readonly Http2ConnectionLimits _limits;
    private readonly object _sync = new();
    private readonly HPackDecoder _decoder;
    private readonly HPackEncoder _encoder;
    private readonly ArrayBufferWriter<byte> _fieldBlock = new(1024);
    private readonly Dictionary<uint, Http2Stream> _streams = new();
    // Streams kept for reuse, least recently returned first: up to StreamPoolSize, so a connection as busy as its
    // stream limit allocates no stream in steady state; ones unused for StreamPoolIdleMs are dropped on Tick.
    private Http2Stream[] _pool = [];
    private int _pooled;
    private readonly List<Http2Stream> _pendingDispatch = new();
    private readonly List<Http2Stream> _headWaiters = new(); // client role: response heads read in this batch
    private readonly List<Http2Stream> _blockedWriters = new();
    private readonly List<Http2Stream> _pendingClose = new();
    private readonly (uint Id, bool ResetByUs)[] _recentlyClosed = new (uint, bool)[RecentlyClosedCount];
    private int _recentlyClosedNext;

    private readonly bool _isClient;
    private readonly bool _secure; // client over TLS: :scheme https
    private Http2FrameReader _frameReader;
    private Http2Settings _peerSettings = Http2Settings.Default;
    private Http2SendWindow _connectionSendWindow = new(Http2Settings.DefaultInitialWindowSize);
    private Http2ReceiveWindow _connectionReceiveWindow;

    private readonly Http2AsyncSignal _outputSignal = new(deferOnLoop: true);
    private readonly Http2AsyncSignal _readLoopSignal = new();
    private bool _readLoopWaiting;
    private int _inFlightBytes;
    private bool _flushing;
    private long _flushStartedAt;
    private bool _outputClosed;
    private bool _closing;
    private Task _outputLoop = Task.CompletedTask;

    private bool _prefaceRead;
    private bool _settingsReceived;
    private long _settingsSentAt = -1;
    private uint _lastStreamId;
    private int _liveStreams;

    // The field block being received (§4.3): its stream (null: decoded and discarded), and what ends it.
    private Http2Stream? _blockStream;
    private bool _blockEndStream;
    private bool _blockTrailers;
    private int _blockBytes;

    // Connection time: milliseconds since the first Tick (0 until then), so stamps taken before it are not stale.
    private long _now;
    private long _epoch = long.MinValue;
    private long _intervalStart;
    private int _resets, _controlFrames, _windowUpdates, _consecutiveEmpty;

    // Keepalive (client role): when the last PING went out, whether its ACK is awaited, when a frame last arrived.
    private long _keepAliveSentAt;
    private bool _keepAliveAwaited;
    private long _lastFrameAt;

    private ShutdownPhase _shutdown;
    private long _shutdownStartedAt;
    private uint _goAwayLastStreamId = Http2Settings.MaxWindowSize;
    private bool _peerGoAway;
    // Client role: max_requests_per_connection reached; no new streams, and the connection closes once drained.
    private int _maxStreams;
    private int _streamsOpened;
    private bool _retiring;

    private enum ShutdownPhase : byte
    {
        None = 0,
        PingSent,      // GOAWAY(2^31-1) and PING sent; waiting for the PING ACK
        Draining,      // final GOAWAY sent; streams at or below its last id finish
    }

    /// <summary>A server connection: <paramref name="handler"/> is called for each request.</summary>
    public Http2Connection(IDuplexPipe transport, IHttp2StreamHandler handler, Http2ConnectionLimits? limits = null)
        : this(transport, handler, limits, isClient: false)
    {
    }

    private Http2Connection(IDuplexPipe transport, IHttp2StreamHandler? handler, Http2ConnectionLimits? limits, bool isClient, bool secure = false)
    {
        _isClient = isClient;
        _secure = secure;
        _prefaceRead = isClient; // only a server reads the 24-octet client preface
        _frameReader = isClient ? Http2FrameReader.ForClient(enablePush: false) : Http2FrameReader.ForServer();
        _input = transport.Input;
        _output = transport.Output;
        _writer = new CountingWriter(_output);
        Handler = handler!;
        _limits = limits ?? Http2ConnectionLimits.Default;
        // A single field may be as long as the hard list bound: one over the limit is answered 431 like any list
        // over it, rather than ending the connection as an undecodable string would (the buffers grow only if used).
        _decoder = new HPackDecoder(_limits.HeaderTableSize, _limits.MaxHeaderListSize,
            maxStringLength: (int)Math.Clamp((long)HPackDecoder.HardLimitFactor * _limits.MaxHeaderListSize, 1, int.MaxValue / 4));
        _encoder = new HPackEncoder();
        _connectionReceiveWindow = new Http2ReceiveWindow(_limits.ConnectionWindowSize);
    }

    internal IHttp2StreamHandler Handler { get; }

    public Http2ConnectionEndReason EndReason { get; private set; }

    /// <summary>The error code of the GOAWAY this endpoint sent, if it sent one.</summary>
    public Http2ErrorCode? GoAwaySent { get; private set; }

    /// <summary>Streams not yet returned to the pool (open, or closed while the handler still runs).</summary>
    public int LiveStreams
    {
        get { lock (_sync) return _liveStreams; }
    }

    /// <summary>Streams kept for reuse (for tests).</summary>
    internal int PooledStreams
    {
        get { lock (_sync) return _pooled; }
    }

    /// <summary>Runs the connection until the peer closes it, an error ends it, or a graceful shutdown completes.</summary>
    public async Task RunAsync()
    {
        try
        {
            lock (_sync) WritePreface();
            _outputLoop = RunOutputAsync();
            while (true)
            {
                ReadResult result = await _input.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                SequencePosition consumed = ProcessInput(buffer);
                _input.AdvanceTo(consumed, buffer.End);
                DispatchPending();
                ResumeHeadWaiters();
                if (_closing || result.IsCanceled) break;
                if (result.IsCompleted)
                {
                    if (EndReason == Http2ConnectionEndReason.None) EndReason = Http2ConnectionEndReason.PeerClosed;
                    break;
                }
                ValueTask backlog = default;
                lock (_sync)
                {
                    if (IsBacklogged && !_outputClosed)
                    {
                        // A peer that does not read makes us stop reading too: its PINGs and SETTINGS cannot pile up
                        // replies beyond MaxOutputBufferBytes (the outbound queue flood).
                        _readLoopWaiting = true;
                        backlog = _readLoopSignal.WaitAsync();
                    }
                }
                await backlog.ConfigureAwait(false);
                if (_closing) break;
            }
        }
        catch (Exception)
        {
            // Bad input never throws through here (errors are values); this is the transport failing under us.
            if (EndReason == Http2ConnectionEndReason.None) EndReason = Http2ConnectionEndReason.TransportError;
        }
        finally
        {
            lock (_sync)
            {
                _closing = true;
                _outputClosed = true;
                AbortAllStreams();
                _outputSignal.Set();
            }
            ResumeHeadWaiters(); // heads read before a failure: their requests see the streams aborted
            await _outputLoop.ConfigureAwait(false);
            if (GoAwaySent is { } code && code != Http2ErrorCode.NO_ERROR && EndReason != Http2ConnectionEndReason.OutputStalled)
                await LingerAsync().ConfigureAwait(false);
            await _output.CompleteAsync().ConfigureAwait(false);
            await _input.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// After an error GOAWAY, reads and discards what the peer is still sending for a moment before closing: closing
    /// with unread input makes TCP send a reset, and a reset can destroy the GOAWAY before the peer reads it. Bounded
    /// (1 MiB, 250 ms of silence, 2 s), and on the error path only, so the real clock is fine here.
    /// </summary>
    private async Task LingerAsync()
    {
        long drained = 0;
        long deadline = Environment.TickCount64 + 2000;
        try
        {
            while (drained < 1 << 20 && Environment.TickCount64 < deadline)
            {
                using var quiet = new CancellationTokenSource(250);
                ReadResult result = await _input.ReadAsync(quiet.Token).ConfigureAwait(false);
                drained += result.Buffer.Length;
                _input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted) break;
            }
        }
        catch (Exception)
        {
            // Quiet for 250 ms, or the transport failed: either way, close now.
        }
    }

    /// <summary>
    /// Starts the two-phase graceful shutdown (§6.8): GOAWAY with 2^31-1 and a PING; on its ACK, GOAWAY with the last
    /// stream id. Streams at or below it finish; then the connection closes.
    /// </summary>
    public void BeginGracefulShutdown()
    {
        lock (_sync)
        {
            if (_shutdown != ShutdownPhase.None || _outputClosed) return;
            _shutdown = ShutdownPhase.PingSent;
            _shutdownStartedAt = _now;
            Http2FrameWriter.WriteGoAway(_writer, Http2Settings.MaxWindowSize, Http2ErrorCode.NO_ERROR);
            Http2FrameWriter.WritePing(_writer, ShutdownPingOpaque, ack: false);
            SignalOutput();
        }
    }

    /// <summary>
    /// Advances the connection's clock (milliseconds, e.g. Environment.TickCount64 from the Heartbeat) and enforces
    /// every deadline: SETTINGS ACK, stalled send windows, a stalled transport, shutdown, and the rate intervals.
    /// Time comes only from here, so tests drive it.
    /// </summary>
    public void Tick(long nowMs)
    {
        bool abortOutput = false;
        lock (_sync)
        {
            if (_epoch == long.MinValue) _epoch = nowMs;
            nowMs -= _epoch;
            _now = nowMs;
            if (nowMs - _intervalStart >= _limits.RateIntervalMs)
            {
                _intervalStart = nowMs;
                _resets = _controlFrames = _windowUpdates = 0;
            }
            // Dropped without a GOAWAY (the peer would not read it): a stalled output, checked even once closing so a
            // final GOAWAY to a peer that never reads cannot hold the connection; or a keepalive PING unanswered.
            Http2ConnectionEndReason drop =
                _flushing && nowMs - _flushStartedAt > _limits.OutputStallTimeoutMs ? Http2ConnectionEndReason.OutputStalled
                : _keepAliveAwaited && nowMs - Math.Max(_keepAliveSentAt, _lastFrameAt) > _limits.KeepAliveTimeoutMs ? Http2ConnectionEndReason.KeepAliveTimeout
                : Http2ConnectionEndReason.None;
            if (drop != Http2ConnectionEndReason.None)
            {
                if (EndReason == Http2ConnectionEndReason.None) EndReason = drop;
                _closing = true;
                _outputClosed = true;
                abortOutput = true;
            }
            else if (_outputClosed)
            {
                return;
            }
            else if (_settingsSentAt >= 0 && nowMs - _settingsSentAt > _limits.SettingsAckTimeoutMs)
            {
                ConnectionError(Http2ErrorCode.SETTINGS_TIMEOUT, Http2ConnectionEndReason.SettingsTimeout);
                return;
            }
            else
            {
                for (int i = _blockedWriters.Count - 1; i >= 0; i--)
                {
                    Http2Stream s = _blockedWriters[i];
                    if (s.StallSince >= 0 && nowMs - s.StallSince > _limits.SendStallTimeoutMs)
                        ResetStream(s, Http2ErrorCode.CANCEL, countAsAbuse: false);
                }
                ExpirePooledStreams(nowMs);
                if (_limits.KeepAliveIntervalMs > 0 && _shutdown == ShutdownPhase.None && !_keepAliveAwaited && nowMs - _keepAliveSentAt >= _limits.KeepAliveIntervalMs)
                {
                    _keepAliveSentAt = nowMs;
                    _keepAliveAwaited = true;
                    Http2FrameWriter.WritePing(_writer, KeepAlivePingOpaque, ack: false);
                    SignalOutput();
                }
                if (_shutdown == ShutdownPhase.PingSent && nowMs - _shutdownStartedAt > _limits.ShutdownTimeoutMs)
                    SendFinalGoAway();
                else if (_shutdown == ShutdownPhase.Draining && nowMs - _shutdownStartedAt > _limits.ShutdownTimeoutMs)
                    ConnectionError(Http2ErrorCode.NO_ERROR, Http2ConnectionEndReason.GracefulShutdown);
            }
        }
        if (abortOutput)
        {
            _output.CancelPendingFlush();
            _input.CancelPendingRead();
        }
    }

    private void WritePreface()
    {
        // §3.4: the client starts with the 24-octet preface; both then send SETTINGS without waiting for the peer's.
        if (_isClient) _writer.Write(Http2ConnectionPreface.ClientPreface);
        Span<Http2Setting> settings =
        [
            new(Http2SettingsParameter.SETTINGS_HEADER_TABLE_SIZE, (uint)_limits.HeaderTableSize),
            new(Http2SettingsParameter.SETTINGS_ENABLE_PUSH, 0),
            new(Http2SettingsParameter.SETTINGS_MAX_CONCURRENT_STREAMS, _limits.MaxConcurrentStreams),
            new(Http2SettingsParameter.SETTINGS_INITIAL_WINDOW_SIZE, (uint)_limits.InitialStreamWindowSize),
            new(Http2SettingsParameter.SETTINGS_MAX_HEADER_LIST_SIZE, (uint)_limits.MaxHeaderListSize),
        ];
        Http2FrameWriter.WriteSettings(_writer, settings);
        int raise = _limits.ConnectionWindowSize - (int)Http2Settings.DefaultInitialWindowSize;
        if (raise > 0) Http2FrameWriter.WriteWindowUpdate(_writer, 0, (uint)raise);
        _settingsSentAt = _now;
        SignalOutput();
    }

    private void DispatchPending()
    {
        // Streams start after the whole read batch is processed (a request whose body arrived with its head finds it
        // already buffered), outside the lock, on the read loop itself: each handler runs until its first real wait
        // (for the proxy, the upstream response) and hands the loop back. An event loop's way, as HAProxy and Envoy
        // run a request; queueing each to the thread pool instead cost a work item and often a thread wake-up per
        // stream (~8-10% CPU per request in A/B runs of the h2 scenario). Handlers never block: their waits are
        // awaits, so the next frames are read as soon as the batch's handlers have yielded.
        for (int i = 0; i < _pendingDispatch.Count; i++) ((IThreadPoolWorkItem)_pendingDispatch[i]).Execute();
        _pendingDispatch.Clear();
    }

    private void ResumeHeadWaiters()
    {
        // Outside the lock: each waiter (the proxy's request) runs until its next real wait, typically having read
        // the body already in this batch and written its response downstream. Requests never block, so the next
        // frames are read as soon as they have yielded.
        for (int i = 0; i < _headWaiters.Count; i++) _headWaiters[i].HeadSignal.CompleteInline(true);
        _headWaiters.Clear();
    }

    /// <summary>Reads every complete frame; returns how far input was consumed.</summary>
    private SequencePosition ProcessInput(in ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (!_prefaceRead)
        {
            Http2PrefaceStatus preface = Http2ConnectionPreface.TryRead(ref reader);
            if (preface == Http2PrefaceStatus.Incomplete) return reader.Position;
            if (preface == Http2PrefaceStatus.Invalid)
            {
                lock (_sync) ConnectionError(Http2ErrorCode.PROTOCOL_ERROR, Http2ConnectionEndReason.ProtocolError);
                return buffer.End;
            }
            _prefaceRead = true;
        }

        while (!_closing)
        {
            Http2FrameReadStatus status = _frameReader.TryReadFrame(ref reader, out Http2Frame frame, out Http2FrameError error);
            if (status == Http2FrameReadStatus.Incomplete) break;
            lock (_sync)
            {
                _lastFrameAt = _now;
                switch (status)
                {
                    case Http2FrameReadStatus.ConnectionError:
                        ConnectionError(error.Code, Http2ConnectionEndReason.ProtocolError);
                        return buffer.End;
                    case Http2FrameReadStatus.StreamError:
                        OnFrameStreamError(error);
                        break;
                    default:
                        if (!_settingsReceived && (frame.Type != Http2FrameType.SETTINGS || frame.IsAck))
                        {
                            // §3.4: the client preface ends with a SETTINGS frame; anything else first is a PROTOCOL_ERROR.
                            ConnectionError(Http2ErrorCode.PROTOCOL_ERROR, Http2ConnectionEndReason.ProtocolError);
                            return buffer.End;
                        }
                        OnFrame(frame);
                        break;
                }
            }
        }
        return _closing ? buffer.End : reader.Position;
    }

    private void OnFrame(in Http2Frame frame)
    {
        switch (frame.Type)
        {
            case Http2FrameType.DATA: OnData(frame); break;
            case Http2FrameType.HEADERS: OnHeaders(frame); break;
            case Http2FrameType.CONTINUATION: OnContinuation(frame); break;
            case Http2FrameType.PRIORITY: CountControlFrame(); break; // §5.3.2: parsed and ignored
            case Http2FrameType.RST_STREAM: OnRstStream(frame); break;
            case Http2FrameType.SETTINGS: OnSettings(frame); break;
            case Http2FrameType.PING: OnPing(frame); break;
            case Http2FrameType.GOAWAY: OnGoAway(frame); break;
            case Http2FrameType.WINDOW_UPDATE: OnWindowUpdate(frame); break;
        }
    }

    private void OnFrameStreamError(in Http2FrameError error)
    {
        // A stream error the frame layer found (WINDOW_UPDATE of 0, PRIORITY of a wrong length). PRIORITY may name an
        // idle stream (§5.1), so only its FRAME_SIZE_ERROR stays a stream error there.
        if (error.StreamId > _lastStreamId && error.Code != Http2ErrorCode.FRAME_SIZE_ERROR)
        {
            // §5.1: on an idle stream, only HEADERS and PRIORITY are allowed.
            ConnectionError(Http2ErrorCode.PROTOCOL_ERROR, Http2ConnectionEndReason.ProtocolError);
            return;
        }
        if (_streams.TryGetValue(error.StreamId, out Http2Stream? stream)) ResetStream(stream, error.Code, countAsAbuse: true);
        else WriteReset(error.StreamId, error.Code, countAsAbuse: true);
    }

    // ---- HEADERS, CONTINUATION (§6.2, §6.10, §8.1) ----

    private void OnHeaders(in Http2Frame frame)
    {
        uint id = frame.StreamId;
        if (!CountEmpty(frame.Payload.IsEmpty && !frame.EndHeaders)) return;
        _blockStream = null;
        _blockEndStream = frame.EndStream;
        _blockTrailers = false;
        _blockBytes = 0;

        if ((id & 1) == 0)
        {
            // §5.1.1: clients open odd-numbered streams; a server opens even ones only by PUSH_PROMISE, disabled here.
            ConnectionError(Http2ErrorCode.PROTOCOL_ERROR, Http2ConnectionEndReason.ProtocolError);
            return;
        }
        if (_isClient)
        {
            OnResponseHeaders(frame);
            return;
        }
        if (_streams.TryGetValue(id, out Http2Stream? stream))
        {
            if (stream.State is Http2StreamState.Open or Http2StreamState.HalfClosedLocal)
            {
                // Trailers (§8.1): they end the stream; a second HEADERS without END_STREAM is malformed.
                _blockStream = stream;
                _blockTrailers = true;
                stream.HeaderState.Begin(trailers: true);
                if (!frame.EndStream) stream.HeaderState.Malformed = true;
            }
            else
            {
                // §5.1 half-closed (remote): anything but WINDOW_UPDATE, PRIORITY, RST_STREAM is STREAM_CLOSED.
                // The block is still decoded (below, into nothing) to keep the HPACK context in step.
                ResetStream(stream, Http2ErrorCode.STREAM_CLOSED, countAsAbuse: true);
            }
        }
        else if (id <= _lastStreamId)
        {
            // §5.1 closed, or §5.1.1 an identifier going backwards.
            Http2ErrorCode code = WasRecentlyClosed(id, out _) ? Http2ErrorCode.STREAM_CLOSED : Http2ErrorCode.PROTOCOL_ERROR;
            ConnectionError(code, Http2ConnectionEndReason.ProtocolError);
            return;
        }
        else
        {
            _lastStreamId = id;
            if (_shutdown == ShutdownPhase.Draining && id > _goAwayLastStreamId)
            {
                // §6.8: streams above the last id of our GOAWAY are ignored (decoded into nothing), their DATA too.
                RememberClosed(id, resetByUs: true);
            }
            else if (_streams.Count >= _limits.MaxConcurrentStreams || _liveStreams >= 2 * (long)_limits.MaxConcurrentStreams)
            {
                // §5.1.2: over our limit, counted as the peer counts: streams open or half-closed. A stream the peer
                // saw end may still have its handler finishing, so a client that opens the next stream at once is
                // within its rights; handlers in flight are capped at twice the limit instead, which also bounds
                // what resetting streams (CVE-2023-44487) can start. REFUSED_STREAM tells the client it may retry;
                // it counts as a reset, so a client that keeps pushing past the limit ends with ENHANCE_YOUR_CALM.
                WriteReset(id, Http2ErrorCode.REFUSED_STREAM, countAsAbuse: true);
            }
            else
            {
                stream = Rent();
                stream.Initialize(id, _limits.InitialStreamWindowSize, _peerSettings.InitialWindowSize);
                stream.HeaderState.Begin(trailers: false);
                _streams.Add(id, stream);
                _blockStream = stream;
            }
        }
        DecodeFragment(frame.Payload, frame.EndHeaders);
    }

    private void OnContinuation(in Http2Frame frame)
    {
        if (!CountEmpty(frame.Payload.IsEmpty && !frame.EndHeaders)) return;
        DecodeFragment(frame.Payload, frame.EndHeaders);
    }

    private void DecodeFragment(in ReadOnlySequence<byte> fragment, bool endHeaders)
    {
        if (_closing) return;
        // CVE-2024-27316: the block is bounded as it arrives, whatever CONTINUATION frames it is split into. The bound
        // is the decoder's hard one: a block a little over the limit is still read whole, to be answered with 431.
        _blockBytes += (int)fragment.Length;
        if (_blockBytes > (long)HPackDecoder.HardLimitFactor * _limits.MaxHeaderListSize)
        {
            ConnectionError(Http2ErrorCode.ENHANCE_YOUR_CALM, Http2ConnectionEndReason.HeaderBlockTooLarge);
            return;
        }
        var handler = new Http2RequestHeaderHandler(_blockStream);
        HPackError error = HPackError.None;
        if (fragment.IsSingleSegment)
        {
            error = _decoder.Decode(fragment.FirstSpan, endHeaders, ref handler);
        }
        else
        {
            // END_HEADERS goes with the last segment. (TryGet leaves the position past the last segment, not at
            // fragment.End, so that test never held: the block never ended in the decoder and its list size and
            // over-limit state leaked into the next block.)
            ReadOnlySequence<byte>.Enumerator segments = fragment.GetEnumerator();
            bool more = segments.MoveNext();
            while (more && error == HPackError.None)
            {
                ReadOnlyMemory<byte> segment = segments.Current;
                more = segments.MoveNext();
                error = _decoder.Decode(segment.Span, endHeaders && !more, ref handler);
            }
        }
        if (error == HPackError.HeaderListTooLarge)
        {
            // Over the limit but decoded whole (only END_HEADERS reports it): the table is in step, so the stream
            // alone is answered (§10.5.1) and the connection goes on serving.
            EndOversizedFieldBlock();
            return;
        }
        if (error != HPackError.None)
        {
            // §4.3: a decoding error desynchronises the table: COMPRESSION_ERROR. A list past the hard bound (an HPACK
            // bomb) also ends the connection: the decoder stopped mid-block, so its table can no longer be trusted.
            if (error.IsCompressionError()) ConnectionError(Http2ErrorCode.COMPRESSION_ERROR, Http2ConnectionEndReason.ProtocolError);
            else ConnectionError(Http2ErrorCode.PROTOCOL_ERROR, Http2ConnectionEndReason.HeaderListTooLarge);
            return;
        }
        if (endHeaders) EndFieldBlock();
    }

    private void EndFieldBlock()
    {
        Http2Stream? stream = _blockStream;
        _blockStream = null;
        if (stream is null) return;
        if (_isClient)
        {
            EndResponseBlock(stream);
            return;
        }
        if (_blockTrailers)
        {
            // §8.1.1: trailers end the body, so a declared content-length must be met by now.
            long declared = stream.RequestHead.ContentLength;
            if (stream.HeaderState.Malformed || (declared >= 0 && stream.DataReceived != declared))
                ResetStream(stream, Http2ErrorCode.PROTOCOL_ERROR, countAsAbuse: true);
            else OnEndStreamReceived(stream);
            return;
        }
        if (!Http2RequestHeaderHandler.Complete(stream, _blockEndStream))
        {
            // §8.1.1: a malformed request is a stream error of type PROTOCOL_ERROR.
            ResetStream(stream, Http2ErrorCode.PROTOCOL_ERROR, countAsAbuse: true);
            return;
        }
        stream.HandlerStarted = true;
        _pendingDispatch.Add(stream);
        if (_blockEndStream)
        {
            stream.EndBodyEmpty(); // the handler runs after this batch: nothing has read the body yet
            OnEndStreamReceived(stream);
        }
    }

    /// <summary>
    /// A field block whose decoded list exceeded SETTINGS_MAX_HEADER_LIST_SIZE. A request head is answered 431 by the
    /// connection itself (no handler runs; Kestrel and Envoy answer 431 too), then the stream ends: closed if the
    /// request had ended, else RST_STREAM NO_ERROR (§8.1). Trailers, or a response head from an origin, reset the
    /// stream: there is nothing left to answer on it.
    /// </summary>
    private void EndOversizedFieldBlock()
    {
        Http2Stream? stream = _blockStream;
        _blockStream = null;
        if (stream is null) return; // decoded into nothing
        if (_isClient || _blockTrailers)
        {
            ResetStream(stream, Http2ErrorCode.PROTOCOL_ERROR, countAsAbuse: true);
            return;
        }
        if (_blockEndStream) OnEndStreamReceived(stream);
        if (_outputClosed) return;
        BeginResponseBlock(431);
        _encoder.EncodeContentLength(0, _fieldBlock);
        Http2FrameWriter.WriteHeaders(_writer, stream.StreamId, _fieldBlock.WrittenSpan, endStream: true, (int)_peerSettings.MaxFrameSize);
        stream.HeadersSent = true;
        SignalOutput();
        if (!_isClient) Handler.OnStreamAnswered(stream, 431);
        OnEndStreamSent(stream);
    }

    // ---- DATA (§6.1, §6.9, §8.1.1) ----

    private void OnData(in Http2Frame frame)
    {
        uint id = frame.StreamId;
        int length = frame.Length;
        if (!CountEmpty(length == 0 && !frame.EndStream)) return;
        if (id > _lastStreamId || (id & 1) == 0 && !_streams.ContainsKey(id))
        {
            // §5.1 idle: DATA before HEADERS.
            ConnectionError(Http2ErrorCode.PROTOCOL_ERROR, Http2ConnectionEndReason.ProtocolError);
            return;
        }
        if (!_connectionReceiveWindow.TryReceive(length))
        {
            ConnectionError(Http2ErrorCode.FLOW_CONTROL_ERROR, Http2ConnectionEndReason.ProtocolError);
            return;
        }
        if (!_streams.TryGetValue(id, out Http2Stream? stream))
        {
            // §5.1 closed. After our RST_STREAM the peer may have had frames in flight: ignored. Otherwise
            // STREAM_CLOSED. Either way the octets count against the connection window and are returned.
            ReturnConnectionCredit(length);
            if (!WasRecentlyClosed(id, out bool resetByUs) || !resetByUs) WriteReset(id, Http2ErrorCode.STREAM_CLOSED, countAsAbuse: true);
            return;
        }
        if (stream.State is not (Http2StreamState.Open or Http2StreamState.HalfClosedLocal))
        {
            // §5.1 half-closed (remote): STREAM_CLOSED (CVE-2025-8671 provokes exactly these resets: counted).
            ReturnConnectionCredit(length);
            ResetStream(stream, Http2ErrorCode.STREAM_CLOSED, countAsAbuse: true);
            return;
        }
        if (!stream.ReceiveWindow.TryReceive(length))
        {
            ReturnConnectionCredit(length);
            ResetStream(stream, Http2ErrorCode.FLOW_CONTROL_ERROR, countAsAbuse: true);
            return;
        }
        long payloadLength = frame.Payload.Length;
        stream.DataReceived += payloadLength;
        long declared = stream.HeaderState.ContentLength;
        if (declared >= 0 && (stream.DataReceived > declared || (frame.EndStream && stream.DataReceived != declared)))
        {
            // §8.1.1: content-length must equal the sum of the DATA payloads.
            ReturnConnectionCredit(length);
            ResetStream(stream, Http2ErrorCode.PROTOCOL_ERROR, countAsAbuse: true);
            return;
        }
        int padding = length - (int)payloadLength;
        if (padding > 0) ConsumeStreamCredit(stream, padding);
        if (payloadLength > 0)
        {
            if (stream.BodyReaderCompleted || stream.BodyWriterCompleted)
            {
                ConsumeStreamCredit(stream, (int)payloadLength); // nobody reads it: returned at once
            }
            else
            {
                PipeWriter body = stream.BodyWriter;
                foreach (ReadOnlyMemory<byte> segment in frame.Payload) body.Write(segment.Span);
                stream.Buffered += payloadLength;
                // Never waits: the pipe has no pause threshold, the window bounds it.
                ValueTask<FlushResult> flush = body.FlushAsync();
                if (flush.IsCompletedSuccessfully) _ = flush.Result;
            }
        }
        if (frame.EndStream) OnEndStreamReceived(stream);
    }

    private void OnEndStreamReceived(Http2Stream stream)
    {
        if (!stream.BodyWriterCompleted)
        {
            stream.BodyWriterCompleted = true;
            stream.BodyWriter.Complete();
        }
        if (stream.State == Http2StreamState.HalfClosedLocal) CloseStream(stream, resetByUs: false);
        else stream.State = Http2StreamState.HalfClosedRemote;
    }

    /// <summary>The application consumed body octets: return credit to the peer (stream and connection).</summary>
    internal void OnBodyConsumed(Http2Stream stream, int length)
    {
        lock (_sync)
        {
            stream.Buffered -= length;
            ConsumeStreamCredit(stream, length);
        }
    }

    internal void OnBodyReaderCompleted(Http2Stream stream)
    {
        lock (_sync)
        {
            // Unread octets will never be consumed: give the connection window back.
            if (stream.Buffered > 0)
            {
                ReturnConnectionCredit((int)stream.Buffered);
                stream.Buffered = 0;
            }
        }
    }

    private void ConsumeStreamCredit(Http2Stream stream, int length)
    {
        if (_outputClosed) return;
        if (stream.State is Http2StreamState.Open or Http2StreamState.HalfClosedLocal)
        {
            // No update once the peer has ended the stream: it cannot send more.
            int increment = stream.ReceiveWindow.OnConsumed(length);
            if (increment > 0) Http2FrameWriter.WriteWindowUpdate(_writer, stream.StreamId, (uint)increment);
        }
        ReturnConnectionCredit(length);
    }

    private void ReturnConnectionCredit(int length)
    {
        if (_outputClosed || length == 0) return;
        int increment = _connectionReceiveWindow.OnConsumed(length);
        if (increment > 0) Http2FrameWriter.WriteWindowUpdate(_writer, 0, (uint)increment);
        SignalOutput();
    }

    // ---- RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE ----

    private void OnRstStream(in Http2Frame frame)
    {
        uint id = frame.StreamId;
        if (id > _lastStreamId)
        {
            ConnectionError(Http2ErrorCode.PROTOCOL_ERROR, Http2ConnectionEndReason.ProtocolError); // §6.4: idle stream
            return;
        }
        if (!_streams.TryGetValue(id, out Http2Stream? stream)) return; // §5.1 closed: ignored
        Http2StreamResets.Count(_isClient, sent: false, frame.ErrorCode);
        // CVE-2023-44487: each peer reset of a live stream counts, and the stream's handler keeps counting against the
        // cap on handlers in flight (twice MaxConcurrentStreams) until it returns.
        if (!CountReset()) return;
        AbortStream(stream, frame.ErrorCode);
        CloseStream(stream, resetByUs: false);
    }

    private void OnSettings(in Http2Frame frame)
    {
        if (!CountControlFrame()) return;
        if (frame.IsAck)
        {
            _settingsSentAt = -1;
            return;
        }
        bool first = !_settingsReceived;
        _settingsReceived = true;
        uint oldWindow = _peerSettings.InitialWindowSize;
        Http2ErrorCode error = _peerSettings.Apply(frame.Payload);
        if (first && error == Http2ErrorCode.NO_ERROR) _peerSettingsApplied.TrySetResult();
        if (error != Http2ErrorCode.NO_ERROR)
        {
            ConnectionError(error, Http2ConnectionEndReason.ProtocolError);
            return;
        }
        long delta = (long)_peerSettings.InitialWindowSize - oldWindow;
        if (delta != 0)
        {
            // §6.9.2: a new initial window changes every open stream's window by the difference.
            foreach (Http2Stream stream in _streams.Values)
            {
                if (!stream.SendWindow.TryIncrease(delta))
                {
                    ConnectionError(Http2ErrorCode.FLOW_CONTROL_ERROR, Http2ConnectionEndReason.ProtocolError);
                    return;
                }
            }
            if (delta > 0) WakeBlockedWriters();
        }
        _encoder.SetPeerMaxTableSize((int)Math.Min(_peerSettings.HeaderTableSize, int.MaxValue));
        Http2FrameWriter.WriteSettingsAck(_writer);
        SignalOutput();
    }

    private void OnPing(in Http2Frame frame)
    {
        if (frame.IsAck)
        {
            if (frame.OpaqueData == ShutdownPingOpaque && _shutdown == ShutdownPhase.PingSent) SendFinalGoAway();
            else if (frame.OpaqueData == KeepAlivePingOpaque) _keepAliveAwaited = false;
            return;
        }
        if (!CountControlFrame()) return;
        Http2FrameWriter.WritePing(_writer, frame.OpaqueData, ack: true);
        SignalOutput();
    }

    private void OnGoAway(in Http2Frame frame)
    {
        // The peer opens no more streams; ours finish, then the connection closes. A client's streams above the
        // last id were never processed (§6.8): they end as REFUSED_STREAM, which the pool may retry elsewhere.
        _peerGoAway = true;
        if (_isClient) RefuseStreamsAbove(frame.LastStreamId);
        CloseIfDrained();
    }

    private void OnWindowUpdate(in Http2Frame frame)
    {
        if (++_windowUpdates > _limits.MaxWindowUpdatesPerInterval)
        {
            ConnectionError(Http2ErrorCode.ENHANCE_YOUR_CALM, Http2ConnectionEndReason.WindowUpdateFlood);
            return;
        }
        uint id = frame.StreamId;
        if (id == 0)
        {
            if (!_connectionSendWindow.TryIncrease(frame.WindowSizeIncrement))
            {
                ConnectionError(Http2ErrorCode.FLOW_CONTROL_ERROR, Http2ConnectionEndReason.ProtocolError);
                return;
            }
            WakeBlockedWriters();
            return;
        }
        if (id > _lastStreamId)
        {
            ConnectionError(Http2ErrorCode.PROTOCOL_ERROR, Http2ConnectionEndReason.ProtocolError); // §5.1 idle
            return;
        }
        if (!_streams.TryGetValue(id, out Http2Stream? stream)) return; // §5.1 closed: ignored
        if (!stream.SendWindow.TryIncrease(frame.WindowSizeIncrement))
        {
            ResetStream(stream, Http2ErrorCode.FLOW_CONTROL_ERROR, countAsAbuse: true);
            return;
        }
        stream.WriteSignal.Set();
    }

    // ---- Defences: counters over an interval, then ENHANCE_YOUR_CALM ----

    private bool CountReset()
    {
        if (++_resets <= _limits.MaxResetsPerInterval) return true;
        ConnectionError(Http2ErrorCode.ENHANCE_YOUR_CALM, Http2ConnectionEndReason.ResetFlood);
        return false;
    }

    private bool CountControlFrame()
    {
        if (++_controlFrames <= _limits.MaxControlFramesPerInterval) return true;
        ConnectionError(Http2ErrorCode.ENHANCE_YOUR_CALM, Http2ConnectionEndReason.ControlFrameFlood);
        return false;
    }

    private bool CountEmpty(bool empty)
    {
        if (!empty)
        {
            _consecutiveEmpty = 0;
            return true;
        }
        if (++_consecutiveEmpty <= _limits.MaxConsecutiveEmptyFrames) return true;
        ConnectionError(Http2ErrorCode.ENHANCE_YOUR_CALM, Http2ConnectionEndReason.EmptyFrameFlood);
        return false;
    }

    // ---- Stream lifecycle ----

    private Http2Stream Rent()
    {
        _liveStreams++;
        if (_pooled == 0) return new Http2Stream(this);
        Http2Stream stream = _pool[--_pooled];
        _pool[_pooled] = null!;
        return stream;
    }

    /// <summary>A stream error (§5.4.2) found by this endpoint: RST_STREAM, and the stream is gone.</summary>
    private void ResetStream(Http2Stream stream, Http2ErrorCode code, bool countAsAbuse)
    {
        if (stream.State == Http2StreamState.Closed) return;
        WriteReset(stream.StreamId, code, countAsAbuse);
        AbortStream(stream, code);
        CloseStream(stream, resetByUs: true);
    }

    private void WriteReset(uint id, Http2ErrorCode code, bool countAsAbuse)
    {
        if (_outputClosed) return;
        Http2FrameWriter.WriteRstStream(_writer, id, code);
        SignalOutput();
        Http2StreamResets.Count(_isClient, sent: true, code);
        if (countAsAbuse) CountReset();
        RememberClosed(id, resetByUs: true);
    }

    private void AbortStream(Http2Stream stream, Http2ErrorCode code)
    {
        stream.Aborted = true;
        stream.ResetCode = code;
        if (!stream.BodyWriterCompleted)
        {
            stream.BodyWriterCompleted = true;
            stream.BodyWriter.Complete(stream.HandlerStarted ? new Http2StreamResetException(code) : null);
        }
        stream.WriteSignal.Set();
        stream.HeadSignal.Set(stream.ResponseHeadReady);
    }

    private void CloseStream(Http2Stream stream, bool resetByUs)
    {
        if (stream.State == Http2StreamState.Closed) return;
        stream.State = Http2StreamState.Closed;
        _streams.Remove(stream.StreamId);
        if (_blockStream == stream) _blockStream = null;
        if (!resetByUs) RememberClosed(stream.StreamId, resetByUs: false);
        if (!stream.HandlerStarted || stream.HandlerDone) Release(stream);
    }

    private void Release(Http2Stream stream)
    {
        _liveStreams--;
        if (stream.Blocked)
        {
            _blockedWriters.Remove(stream);
            stream.Blocked = false;
        }
        if (!stream.BodyWriterCompleted)
        {
            stream.BodyWriterCompleted = true;
            stream.BodyWriter.Complete();
        }
        stream.CompleteBodyReader();
        stream.Recycle();
        if (_pooled < _limits.StreamPoolSize)
        {
            if (_pooled == _pool.Length) Array.Resize(ref _pool, Math.Min(Math.Max(8, _pool.Length * 2), _limits.StreamPoolSize));
            stream.PooledAt = _now;
            _pool[_pooled++] = stream;
        }
        CloseIfDrained();
    }

    /// <summary>Drops pooled streams unused for StreamPoolIdleMs (the oldest sit at the bottom): a burst of streams
    /// leaves no lasting memory. Under _sync.</summary>
    private void ExpirePooledStreams(long nowMs)
    {
        int expired = 0;
        while (expired < _pooled && nowMs - _pool[expired].PooledAt > _limits.StreamPoolIdleMs) expired++;
        if (expired == 0) return;
        Array.Copy(_pool, expired, _pool, 0, _pooled - expired);
        Array.Clear(_pool, _pooled - expired, expired);
        _pooled -= expired;
    }

    internal void OnHandlerCompleted(Http2Stream stream, bool failed)
    {
        lock (_sync)
        {
            // Closed before: CloseStream left the release to us. Closed below: CloseStream releases it itself.
            bool closedBefore = stream.State == Http2StreamState.Closed;
            stream.HandlerDone = true;
            if (!stream.BodyReaderCompleted) stream.CompleteBodyReader();
            if (stream.State != Http2StreamState.Closed && !stream.EndStreamSent)
            {
                // A handler that returned without ending its response: end it, or reset it if nothing was sent.
                if (failed || !stream.HeadersSent) ResetStream(stream, Http2ErrorCode.INTERNAL_ERROR, countAsAbuse: false);
                else if (!_outputClosed)
                {
                    Http2FrameWriter.WriteData(_writer, stream.StreamId, ReadOnlySpan<byte>.Empty, endStream: true, (int)_peerSettings.MaxFrameSize);
                    SignalOutput();
                    OnEndStreamSent(stream);
                }
            }
            if (closedBefore) Release(stream);
        }
    }

    internal void ResetFromApplication(Http2Stream stream, Http2ErrorCode code)
    {
        lock (_sync) ResetStream(stream, code, countAsAbuse: false);
    }

    private void OnEndStreamSent(Http2Stream stream)
    {
        stream.EndStreamSent = true;
        if (stream.State == Http2StreamState.HalfClosedRemote)
        {
            CloseStream(stream, resetByUs: false);
        }
        else if (stream.State == Http2StreamState.Open)
        {
            stream.State = Http2StreamState.HalfClosedLocal;
            // §8.1: a response complete before its request: the server tells the client to stop sending (NO_ERROR).
            if (!_isClient) ResetStream(stream, Http2ErrorCode.NO_ERROR, countAsAbuse: false);
        }
    }

    private void RememberClosed(uint id, bool resetByUs)
    {
        _recentlyClosed[_recentlyClosedNext] = (id, resetByUs);
        _recentlyClosedNext = (_recentlyClosedNext + 1) % RecentlyClosedCount;
    }

    private bool WasRecentlyClosed(uint id, out bool resetByUs)
    {
        foreach ((uint closed, bool byUs) in _recentlyClosed)
        {
            if (closed == id)
            {
                resetByUs = byUs;
                return true;
            }
        }
        resetByUs = false;
        return false;
    }

    private void AbortAllStreams()
    {
        foreach (Http2Stream stream in _streams.Values)
        {
            AbortStream(stream, Http2ErrorCode.CANCEL);
            stream.State = Http2StreamState.Closed;
            if (!stream.HandlerStarted || stream.HandlerDone) Release(stream);
        }
        _streams.Clear();
        foreach (Http2Stream stream in _blockedWriters) stream.WriteSignal.Set();
        _blockedWriters.Clear();
    }

    // ---- Connection end ----

    /// <summary>A connection error (§5.4.1): GOAWAY with the last stream id we processed, then close.</summary>
    private void ConnectionError(Http2ErrorCode code, Http2ConnectionEndReason reason)
    {
        if (_outputClosed) return;
        Http2FrameWriter.WriteGoAway(_writer, _lastStreamId, code);
        GoAwaySent = code;
        EndReason = reason;
        _closing = true;
        _outputClosed = true;
        SignalOutput();
        _input.CancelPendingRead();
    }

    private void SendFinalGoAway()
    {
        _shutdown = ShutdownPhase.Draining;
        _shutdownStartedAt = _now;
        _goAwayLastStreamId = _lastStreamId;
        Http2FrameWriter.WriteGoAway(_writer, _lastStreamId, Http2ErrorCode.NO_ERROR);
        GoAwaySent = Http2ErrorCode.NO_ERROR;
        SignalOutput();
        CloseIfDrained();
    }

    private void CloseIfDrained()
    {
        if (_liveStreams != 0 || _closing) return;
        if (_shutdown != ShutdownPhase.Draining && !_peerGoAway && !_retiring) return;
        EndReason = _peerGoAway ? Http2ConnectionEndReason.PeerClosed : Http2ConnectionEndReason.GracefulShutdown;
        if (_retiring && !_peerGoAway && GoAwaySent is null)
        {
            // A client's GOAWAY names the last server-initiated stream it took: none (push is off).
            Http2FrameWriter.WriteGoAway(_writer, 0, Http2ErrorCode.NO_ERROR);
            GoAwaySent = Http2ErrorCode.NO_ERROR;
        }
        _closing = true;
        _outputClosed = true;
        SignalOutput();
        _input.CancelPendingRead();
    }
}
