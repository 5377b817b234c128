// A request body on its way to an HTTP/2 origin: read from the client (HTTP/1.1 framed, or an HTTP/2 stream's raw
// DATA), decoded by the HTTP/1.1 body forwarder into raw bytes, and written as DATA on the upstream stream; trailers
// (a chunked body's, or the downstream stream's) follow as a trailing HEADERS frame. Runs as its own task while the
// response head is awaited, as the HTTP/1.1 copier does; a route that retries records the raw bytes for replay.
using System.Buffers;
using System.IO.Pipelines;
using FastPath.Http;
using FastPath.Http1;
using FastPath.Http2;
using FastPath.Transport;

namespace FastPath.Filters.Network;

internal static class Http2UpstreamBody
{
    /// <param name="scratch">Holds decoded bytes between a read and the DATA write; reset here, reused across calls.</param>
    public static async Task<BodyCopyResult> CopyAsync(PipeReader input, BodyFraming inFraming, long contentLength, HttpHeaderBlock? trailers,
        Http2Stream output, ReadDeadline deadline, long idleTimeoutMs, Http1Limits limits, IBodyTap? tap, BodyReplayBuffer? replay,
        ArrayBufferWriter<byte> scratch)
    {
        var forwarder = new Http1BodyForwarder(inFraming, contentLength, BodyFraming.UntilClose, trailers, limits, tap);
        if (forwarder.IsEmpty)
        {
            tap?.OnEnd(null);
            replay?.MarkComplete();
            bool ended = await output.WriteDataAsync(ReadOnlyMemory<byte>.Empty, endStream: true).ConfigureAwait(false);
            return new BodyCopyResult(ended ? BodyCopyStatus.Ok : BodyCopyStatus.OutputFailed, 0);
        }

        scratch.ResetWrittenCount();
        deadline.Arm(input, idleTimeoutMs);
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
                BodyStep step = forwarder.Step(buffer, read.IsCompleted, scratch, out SequencePosition consumed);
                if (step == BodyStep.Invalid)
                {
                    input.AdvanceTo(consumed);
                    return new BodyCopyResult(BodyCopyStatus.InputInvalid, forwarder.Bytes, forwarder.Error);
                }
                if (step == BodyStep.InputEnded)
                {
                    input.AdvanceTo(consumed, buffer.End);
                    return new BodyCopyResult(BodyCopyStatus.InputEnded, forwarder.Bytes);
                }
                bool done = step == BodyStep.Done;
                if (done) input.AdvanceTo(consumed);
                else input.AdvanceTo(consumed, buffer.End);

                bool withTrailers = done && trailers is { Count: > 0 };
                if (scratch.WrittenCount > 0 || (done && !withTrailers))
                {
                    replay?.Record(scratch.WrittenSpan);
                    // Complete before the last write: the origin may answer as soon as the bytes arrive.
                    if (done) replay?.MarkComplete();
                    if (!await output.WriteDataAsync(scratch.WrittenMemory, endStream: done && !withTrailers).ConfigureAwait(false))
                        return new BodyCopyResult(BodyCopyStatus.OutputFailed, forwarder.Bytes);
                    scratch.ResetWrittenCount();
                }
                if (!done) continue;
                replay?.MarkComplete();
                if (withTrailers && !await output.WriteTrailersAsync(trailers!).ConfigureAwait(false))
                    return new BodyCopyResult(BodyCopyStatus.OutputFailed, forwarder.Bytes);
                return new BodyCopyResult(BodyCopyStatus.Ok, forwarder.Bytes);
            }
        }
        finally
        {
            deadline.Disarm();
        }
    }
}
