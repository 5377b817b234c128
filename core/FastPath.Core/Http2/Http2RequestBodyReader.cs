// The request body of one stream as a PipeReader: what the application consumes is returned to the peer as
// WINDOW_UPDATE (RFC 9113 §6.9), so back-pressure reaches the sender and a stream never buffers more than its window.
using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace FastPath.Http2;

internal sealed class Http2RequestBodyReader(Http2Stream stream) : PipeReader
{
    // Null while the body is known to be empty (the request ended with its head): reads answer "empty, complete" and
    // the stream's pipe is never touched, which spares a bodiless request (most of them) its locks and its reset.
    private PipeReader? _inner;
    private ReadOnlySequence<byte> _lastRead;
    private bool _completed;

    private static ReadResult EmptyBody => new(ReadOnlySequence<byte>.Empty, isCanceled: false, isCompleted: true);

    internal void Attach(PipeReader inner)
    {
        _inner = inner;
        _lastRead = default;
        _completed = false;
    }

    /// <summary>The body is empty and complete; only before anything has read it.</summary>
    internal void AttachEmpty() => _inner = null;

    internal bool IsCompleted => _completed;

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (_inner is null) return new ValueTask<ReadResult>(EmptyBody);
        ValueTask<ReadResult> read = _inner.ReadAsync(cancellationToken);
        if (!read.IsCompletedSuccessfully) return ReadSlowAsync(read);
        ReadResult result = read.Result;
        _lastRead = result.Buffer;
        return new ValueTask<ReadResult>(result);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> ReadSlowAsync(ValueTask<ReadResult> read)
    {
        ReadResult result = await read.ConfigureAwait(false);
        _lastRead = result.Buffer;
        return result;
    }

    public override bool TryRead(out ReadResult result)
    {
        if (_inner is null)
        {
            result = EmptyBody;
            return true;
        }
        if (!_inner.TryRead(out result)) return false;
        _lastRead = result.Buffer;
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_inner is null) return;
        long length = _lastRead.Slice(_lastRead.Start, consumed).Length;
        _lastRead = default;
        _inner.AdvanceTo(consumed, examined);
        if (length > 0) stream.OnBodyConsumed((int)length);
    }

    public override void CancelPendingRead() => _inner?.CancelPendingRead(); // an empty body's reads never wait

    public override void Complete(Exception? exception = null)
    {
        if (_completed) return;
        _completed = true;
        if (_inner is null) return; // nothing was buffered, so no credit to give back
        _inner.Complete(exception);
        stream.OnBodyReaderCompleted();
    }
}

/// <summary>The request body ended because the stream was reset (by the peer, or by this endpoint on an error).</summary>
internal sealed class Http2StreamResetException(Http2ErrorCode code)
    : IOException("The HTTP/2 stream was reset (" + code.ToString() + ").")
{
    public Http2ErrorCode ErrorCode { get; } = code;
}
