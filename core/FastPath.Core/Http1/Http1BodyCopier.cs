// Streams one message body from a pipe to a pipe, decoding the incoming framing and writing the outgoing one.
// Http1BodyForwarder is the synchronous step (what to do with the bytes one read returned); callers own the awaits,
// so the request path can drive it from its own state machine without allocating another. Nothing is buffered
// beyond the pipes' thresholds, so back-pressure reaches the sender and memory stays flat.
using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using FastPath.Http;
using FastPath.Transport;

namespace FastPath.Http1;

internal enum BodyCopyStatus : byte
{
    Ok = 0,
    /// <summary>The sending side closed or reset before the body was complete.</summary>
    InputEnded,
    /// <summary>The sending side broke the framing (bad chunk, oversized trailers).</summary>
    InputInvalid,
    /// <summary>The receiving side went away.</summary>
    OutputFailed,
    /// <summary>No bytes arrived within the idle timeout.</summary>
    TimedOut,
}

internal enum BodyStep : byte
{
    NeedMore = 0,
    Done,
    Invalid,
    InputEnded,
}

internal readonly record struct BodyCopyResult(BodyCopyStatus Status, long Bytes, RequestRejectionReason Reason = RequestRejectionReason.None);

internal struct Http1BodyForwarder
{
    private readonly BodyFraming _in;
    private readonly BodyFraming _out;
    private readonly HttpHeaderBlock? _trailers;
    private readonly Http1Limits _limits;
    private readonly IBodyTap? _tap;
    private long _remaining;
    private ChunkedDecoder _chunked;
    private bool _inTrailers;
    private Http1HeadParseState _trailerState;

    public Http1BodyForwarder(BodyFraming inFraming, long contentLength, BodyFraming outFraming, HttpHeaderBlock? trailers, Http1Limits limits,
        IBodyTap? tap = null)
    {
        _tap = tap;
        _in = inFraming;
        _out = outFraming;
        _trailers = trailers;
        _limits = limits;
        _remaining = inFraming == BodyFraming.ContentLength ? contentLength : long.MaxValue;
        _trailerState = Http1HeadParseState.ForTrailers;
    }

    /// <summary>Body bytes forwarded so far (decoded, without chunk framing).</summary>
    public long Bytes { get; private set; }

    public RequestRejectionReason Error { get; private set; }

    /// <summary>True when there is nothing to read: no body, or Content-Length: 0.</summary>
    public readonly bool IsEmpty => _in == BodyFraming.None || (_in == BodyFraming.ContentLength && _remaining == 0);

    /// <summary>For an empty body: writes what the outgoing framing still needs (a last-chunk when chunked).</summary>
    public readonly void WriteEmpty(IBufferWriter<byte> output)
    {
        if (_out == BodyFraming.Chunked) Http1HeadWriter.WriteLastChunk(output, null);
    }

    /// <summary>Forwards what one read returned. On NeedMore the caller advances to consumed, examining everything.</summary>
    public BodyStep Step(in ReadOnlySequence<byte> buffer, bool isCompleted, IBufferWriter<byte> output, out SequencePosition consumed)
    {
        switch (_in)
        {
            case BodyFraming.ContentLength:
            {
                long take = Math.Min(_remaining, buffer.Length);
                ReadOnlySequence<byte> slice = buffer.Slice(0, take);
                WriteData(output, slice);
                _remaining -= take;
                consumed = slice.End;
                if (_remaining == 0)
                {
                    _tap?.OnEnd(null);
                    if (_out == BodyFraming.Chunked) Http1HeadWriter.WriteLastChunk(output, null);
                    return BodyStep.Done;
                }
                return isCompleted ? BodyStep.InputEnded : BodyStep.NeedMore;
            }
            case BodyFraming.UntilClose:
            {
                WriteData(output, buffer);
                consumed = buffer.End;
                if (!isCompleted) return BodyStep.NeedMore;
                // A body that ends with its stream (HTTP/2) may bring trailers along, already parsed into the block.
                HttpHeaderBlock? trailers = _trailers is { Count: > 0 } ? _trailers : null;
                _tap?.OnEnd(trailers);
                if (_out == BodyFraming.Chunked) Http1HeadWriter.WriteLastChunk(output, trailers);
                return BodyStep.Done;
            }
            case BodyFraming.Chunked:
                return StepChunked(buffer, isCompleted, output, out consumed);
            default:
                consumed = buffer.Start;
                return BodyStep.Done;
        }
    }

    private BodyStep StepChunked(in ReadOnlySequence<byte> buffer, bool isCompleted, IBufferWriter<byte> output, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (true)
        {
            if (_inTrailers)
            {
                var handler = new Http1TrailerHandler(_trailers ?? Scratch);
                Http1ParseResult r = Http1Parser.ParseHead(ref reader, ref handler, ref _trailerState, in _limits, out RequestRejectionReason reason);
                consumed = reader.Position;
                if (r == Http1ParseResult.Error)
                {
                    Error = reason;
                    return BodyStep.Invalid;
                }
                if (r == Http1ParseResult.Incomplete) return isCompleted ? BodyStep.InputEnded : BodyStep.NeedMore;
                _tap?.OnEnd(_trailers);
                if (_out == BodyFraming.Chunked) Http1HeadWriter.WriteLastChunk(output, _trailers);
                return BodyStep.Done;
            }
            ChunkedStep step = _chunked.Next(ref reader, out ReadOnlySequence<byte> data);
            if (step == ChunkedStep.Data) WriteData(output, data);
            else if (step == ChunkedStep.Trailers) _inTrailers = true;
            else if (step == ChunkedStep.Error)
            {
                consumed = reader.Position;
                Error = _chunked.Error;
                return BodyStep.Invalid;
            }
            else
            {
                consumed = reader.Position;
                return isCompleted ? BodyStep.InputEnded : BodyStep.NeedMore;
            }
        }
    }

    // Trailers arriving for a hop that cannot carry them are parsed (to find the end) into a throwaway block.
    [ThreadStatic] private static HttpHeaderBlock? t_scratch;

    private static HttpHeaderBlock Scratch
    {
        get
        {
            HttpHeaderBlock block = t_scratch ??= new HttpHeaderBlock();
            block.Clear();
            return block;
        }
    }

    private void WriteData(IBufferWriter<byte> output, in ReadOnlySequence<byte> data)
    {
        if (data.IsEmpty) return;
        _tap?.OnData(data);
        Bytes += data.Length;
        if (_out == BodyFraming.Chunked) Http1HeadWriter.WriteChunkHeader(output, data.Length);
        if (data.IsSingleSegment) output.Write(data.FirstSpan);
        else foreach (ReadOnlyMemory<byte> segment in data) output.Write(segment.Span);
        if (_out == BodyFraming.Chunked) Http1HeadWriter.WriteCrlf(output);
    }
}

internal static class Http1BodyCopier
{
    /// <summary>
    /// Copies a whole body as its own task (used for request bodies, which flow while the response is read).
    /// The deadline is re-armed on every read, so it is an idle timeout, not a total one.
    /// </summary>
    public static async Task<BodyCopyResult> CopyAsync(PipeReader input, PipeWriter output, BodyFraming inFraming,
        long contentLength, BodyFraming outFraming, HttpHeaderBlock? trailers, ReadDeadline deadline, long idleTimeoutMs,
        Http1Limits limits, ISocketBacklogFeature? inputBacklog = null, IBodyTap? tap = null, BodyReplayBuffer? replay = null)
    {
        // With a replay buffer (the route retries), every byte for the upstream also goes to the buffer.
        IBufferWriter<byte> sink = replay is null ? output : replay;
        var forwarder = new Http1BodyForwarder(inFraming, contentLength, outFraming, trailers, limits, tap);
        if (forwarder.IsEmpty)
        {
            // An empty body (Content-Length: 0) still ends: the tap's readers see their end of stream.
            tap?.OnEnd(null);
            forwarder.WriteEmpty(sink);
            replay?.MarkComplete();
            return await FlushAsync(output, new BodyCopyResult(BodyCopyStatus.Ok, 0)).ConfigureAwait(false);
        }

        deadline.Arm(input, idleTimeoutMs);
        long inputConsumed = 0, knownUntil = 0; // for SocketBacklog.MoreWaiting: the kernel is asked once per burst
        try
        {
            while (true)
            {
                ReadResult read;
                try
                {
                    read = await input.ReadAsync().ConfigureAwait(false);
                }
                catch (Exception)
                {
                    return new BodyCopyResult(BodyCopyStatus.InputEnded, forwarder.Bytes);
                }
                if (read.IsCanceled) return new BodyCopyResult(BodyCopyStatus.TimedOut, forwarder.Bytes);
                deadline.Extend(idleTimeoutMs);
                ReadOnlySequence<byte> buffer = read.Buffer;
                BodyStep step = forwarder.Step(buffer, read.IsCompleted, sink, out SequencePosition consumed);
                switch (step)
                {
                    case BodyStep.Done:
                        input.AdvanceTo(consumed);
                        replay?.MarkComplete();
                        return await FlushAsync(output, new BodyCopyResult(BodyCopyStatus.Ok, forwarder.Bytes)).ConfigureAwait(false);
                    case BodyStep.Invalid:
                        input.AdvanceTo(consumed);
                        return new BodyCopyResult(BodyCopyStatus.InputInvalid, forwarder.Bytes, forwarder.Error);
                    case BodyStep.InputEnded:
                        input.AdvanceTo(consumed, buffer.End);
                        return new BodyCopyResult(BodyCopyStatus.InputEnded, forwarder.Bytes);
                }
                long observed = SocketBacklog.Observed(ref inputConsumed, buffer, consumed);
                input.AdvanceTo(consumed, buffer.End);
                // More input already waits in the kernel: read it first, so it leaves in one send (SocketBacklog).
                if (output.CanGetUnflushedBytes && output.UnflushedBytes < SocketBacklog.MaxUnflushedBytes
                    && SocketBacklog.MoreWaiting(inputBacklog, observed, ref knownUntil)) continue;
                BodyCopyResult flushed = await FlushAsync(output, new BodyCopyResult(BodyCopyStatus.Ok, forwarder.Bytes)).ConfigureAwait(false);
                if (flushed.Status != BodyCopyStatus.Ok) return flushed;
            }
        }
        finally
        {
            deadline.Disarm();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<BodyCopyResult> FlushAsync(PipeWriter output, BodyCopyResult ok)
    {
        try
        {
            FlushResult f = await output.FlushAsync().ConfigureAwait(false);
            return f.IsCompleted || f.IsCanceled ? ok with { Status = BodyCopyStatus.OutputFailed } : ok;
        }
        catch (Exception)
        {
            return ok with { Status = BodyCopyStatus.OutputFailed };
        }
    }
}
