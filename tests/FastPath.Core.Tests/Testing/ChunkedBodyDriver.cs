// Drives ChunkedDecoder (and, after the last chunk, Http1Parser over the trailer section) the way Http1BodyCopier
// does, segment by segment as a PipeReader would hand data out; collects the decoded bytes and trailer fields.
using System.Buffers;
using FastPath.Http;
using FastPath.Http1;

namespace FastPath.Core.Tests.Testing;

/// <summary>How a chunked body decoded: data and trailers as text, Consumed = the body's length on success, else -1.</summary>
internal sealed record ChunkedOutcome(Http1ParseResult Result, RequestRejectionReason Reason, string Data, string Trailers, long Consumed)
{
    public override string ToString() =>
        $"{Result} {Reason} consumed={Consumed} data='{Bytes.Escape(Data)}' trailers='{Bytes.Escape(Trailers)}'";
}

internal static class ChunkedBodyDriver
{
    public static ChunkedOutcome Decode(SegmentedInput input)
    {
        var decoder = new ChunkedDecoder();
        var data = new ArrayBufferWriter<byte>();
        var trailers = new HttpHeaderBlock();
        var trailerState = Http1HeadParseState.ForTrailers;
        bool inTrailers = false;
        long consumed = 0;
        for (int k = 0; k < input.SegmentCount; k++)
        {
            var reader = new SequenceReader<byte>(input.Available(consumed, k));
            while (true)
            {
                if (inTrailers)
                {
                    var handler = new Http1TrailerHandler(trailers);
                    Http1ParseResult r = Http1Parser.ParseHead(ref reader, ref handler, ref trailerState, Http1Limits.Default,
                        out RequestRejectionReason reason);
                    if (r == Http1ParseResult.Error) return Fail(reason, data);
                    if (r == Http1ParseResult.Incomplete) break;
                    consumed += reader.Consumed;
                    return new ChunkedOutcome(Http1ParseResult.Complete, RequestRejectionReason.None, Text(data),
                        HeadParseDriver.DescribeFields(trailers), consumed);
                }

                ChunkedStep step = decoder.Next(ref reader, out ReadOnlySequence<byte> slice);
                if (step == ChunkedStep.Data)
                {
                    // A data slice is never empty and never runs past what has arrived.
                    if (slice.IsEmpty) return Fail(RequestRejectionReason.None, data, "empty data slice");
                    foreach (ReadOnlyMemory<byte> m in slice) data.Write(m.Span);
                }
                else if (step == ChunkedStep.Trailers) inTrailers = true;
                else if (step == ChunkedStep.Error) return Fail(decoder.Error, data);
                else break; // NeedMore
            }
            consumed += reader.Consumed;
        }
        return new ChunkedOutcome(Http1ParseResult.Incomplete, RequestRejectionReason.None, Text(data), "", -1);
    }

    private static ChunkedOutcome Fail(RequestRejectionReason reason, ArrayBufferWriter<byte> data, string note = "") =>
        new(Http1ParseResult.Error, reason, note, "", -1);

    private static string Text(ArrayBufferWriter<byte> data) => Bytes.Text(data.WrittenSpan);
}
