// Streams one message body from a pipe to a pipe, decoding the incoming framing and writing the outgoing one.
// Nothing is buffered beyond the pipes' own thresholds, so back-pressure reaches the sender and memory stays flat.
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

internal readonly record struct BodyCopyResult(BodyCopyStatus Status, long Bytes, RequestRejectionReason Reason = RequestRejectionReason.None);

internal static class Http1BodyCopier
{
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<BodyCopyResult> CopyAsync(PipeReader input, PipeWriter output, BodyFraming inFraming,
        long contentLength, BodyFraming outFraming, HttpHeaderBlock? trailers, ReadDeadline deadline, long idleTimeoutMs,
        Http1Limits limits)
    {
        long bytes = 0;
        long remaining = inFraming == BodyFraming.ContentLength ? contentLength : long.MaxValue;
        if (inFraming == BodyFraming.None || (inFraming == BodyFraming.ContentLength && remaining == 0))
        {
            if (outFraming == BodyFraming.Chunked) Http1HeadWriter.WriteLastChunk(output, null);
            return await FlushAsync(output, new BodyCopyResult(BodyCopyStatus.Ok, 0)).ConfigureAwait(false);
        }

        ChunkedDecoder chunked = default;
        bool inTrailers = false;
        Http1HeadParseState trailerState = Http1HeadParseState.ForTrailers;
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
                    return new BodyCopyResult(BodyCopyStatus.InputEnded, bytes);
                }
                if (read.IsCanceled) return new BodyCopyResult(BodyCopyStatus.TimedOut, bytes);
                deadline.Extend(idleTimeoutMs);
                ReadOnlySequence<byte> buffer = read.Buffer;
                bool done = false;
                SequencePosition consumed = buffer.Start;
                BodyCopyStatus failure = BodyCopyStatus.Ok;
                RequestRejectionReason reason = RequestRejectionReason.None;

                switch (inFraming)
                {
                    case BodyFraming.ContentLength:
                    {
                        long take = Math.Min(remaining, buffer.Length);
                        ReadOnlySequence<byte> slice = buffer.Slice(0, take);
                        WriteData(output, slice, outFraming);
                        bytes += take;
                        remaining -= take;
                        consumed = slice.End;
                        if (remaining == 0)
                        {
                            if (outFraming == BodyFraming.Chunked) Http1HeadWriter.WriteLastChunk(output, null);
                            done = true;
                        }
                        break;
                    }
                    case BodyFraming.UntilClose:
                    {
                        WriteData(output, buffer, outFraming);
                        bytes += buffer.Length;
                        consumed = buffer.End;
                        if (read.IsCompleted)
                        {
                            if (outFraming == BodyFraming.Chunked) Http1HeadWriter.WriteLastChunk(output, null);
                            done = true;
                        }
                        break;
                    }
                    case BodyFraming.Chunked:
                    {
                        var reader = new SequenceReader<byte>(buffer);
                        while (!done)
                        {
                            if (inTrailers)
                            {
                                var handler = new Http1TrailerHandler(trailers ?? Scratch);
                                Http1ParseResult r = Http1Parser.ParseHead(ref reader, ref handler, ref trailerState, in limits, out reason);
                                if (r == Http1ParseResult.Error) { failure = BodyCopyStatus.InputInvalid; break; }
                                if (r == Http1ParseResult.Incomplete) break;
                                if (outFraming == BodyFraming.Chunked) Http1HeadWriter.WriteLastChunk(output, trailers);
                                done = true;
                                break;
                            }
                            ChunkedStep step = chunked.Next(ref reader, out ReadOnlySequence<byte> data);
                            if (step == ChunkedStep.Data)
                            {
                                WriteData(output, data, outFraming);
                                bytes += data.Length;
                            }
                            else if (step == ChunkedStep.Trailers) inTrailers = true;
                            else if (step == ChunkedStep.Error) { failure = BodyCopyStatus.InputInvalid; reason = chunked.Error; break; }
                            else break; // NeedMore
                        }
                        consumed = reader.Position;
                        break;
                    }
                }

                if (failure != BodyCopyStatus.Ok)
                {
                    input.AdvanceTo(consumed);
                    return new BodyCopyResult(failure, bytes, reason);
                }
                if (done)
                {
                    input.AdvanceTo(consumed);
                    return await FlushAsync(output, new BodyCopyResult(BodyCopyStatus.Ok, bytes)).ConfigureAwait(false);
                }
                input.AdvanceTo(consumed, buffer.End);
                if (read.IsCompleted) return new BodyCopyResult(BodyCopyStatus.InputEnded, bytes);

                BodyCopyResult flushed = await FlushAsync(output, new BodyCopyResult(BodyCopyStatus.Ok, bytes)).ConfigureAwait(false);
                if (flushed.Status != BodyCopyStatus.Ok) return flushed;
            }
        }
        finally
        {
            deadline.Disarm();
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

    private static void WriteData(PipeWriter output, in ReadOnlySequence<byte> data, BodyFraming outFraming)
    {
        if (data.IsEmpty) return;
        if (outFraming == BodyFraming.Chunked) Http1HeadWriter.WriteChunkHeader(output, data.Length);
        foreach (ReadOnlyMemory<byte> segment in data) output.Write(segment.Span);
        if (outFraming == BodyFraming.Chunked) Http1HeadWriter.WriteCrlf(output);
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
