// Http1BodyForwarder.Step, the synchronous half of body copying, fed read by read as a PipeReader would: every chunked
// case whole, split at every index and one byte per segment must forward the same bytes and consume exactly the body.
using System.Buffers;
using FastPath.Core.Tests.Testing;
using FastPath.Http;
using FastPath.Http1;

namespace FastPath.Core.Tests.Http1;

public class Http1BodyForwarderTests
{
    public static TheoryData<string, Segmentation> ValidCases() => CaseRunner.EveryWay(ChunkedBodyCases.Valid.Select(c => c.Name));

    public static TheoryData<string, Segmentation> InvalidCases() => CaseRunner.EveryWay(ChunkedBodyCases.Invalid.Select(c => c.Name));

    public static TheoryData<Segmentation> Modes() => new(Enum.GetValues<Segmentation>());

    [Theory]
    [MemberData(nameof(ValidCases))]
    public void Step_ChunkedToRaw_ForwardsDecodedDataAndStopsAtBodyEnd(string name, Segmentation mode)
    {
        ValidChunkedCase c = ChunkedBodyCases.Valid.Single(x => x.Name == name);
        byte[] input = Bytes.Of(c.Input);
        var expected = new ForwardOutcome(BodyStep.Done, RequestRejectionReason.None, input.Length - c.After.Length, c.Data.Length, c.Data, c.Trailers);

        string? mismatch = CaseRunner.FirstMismatch(input, mode, () => 0, (run, _) =>
        {
            ForwardOutcome actual = Forward(run, BodyFraming.Chunked, -1, BodyFraming.UntilClose);
            return actual == expected ? null : $"{run.Name}:\n got      {actual}\n expected {expected}";
        });
        Assert.True(mismatch is null, mismatch);
    }

    [Theory]
    [MemberData(nameof(ValidCases))]
    public void Step_ChunkedToChunked_OutputDecodesToSameDataAndForwardedTrailers(string name, Segmentation mode)
    {
        ValidChunkedCase c = ChunkedBodyCases.Valid.Single(x => x.Name == name);
        byte[] input = Bytes.Of(c.Input);
        // Only trailer fields that may be forwarded reach the next hop.
        string forwardedTrailers = string.Concat(c.Trailers.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => !line.Contains(", skip]", StringComparison.Ordinal)).Select(line => line + "\n"));
        var expected = new ChunkedOutcome(Http1ParseResult.Complete, RequestRejectionReason.None, c.Data, forwardedTrailers, -2);

        string? mismatch = CaseRunner.FirstMismatch(input, mode, () => 0, (run, _) =>
        {
            ForwardOutcome forwarded = Forward(run, BodyFraming.Chunked, -1, BodyFraming.Chunked);
            if (forwarded.Step != BodyStep.Done) return $"{run.Name}: {forwarded}";
            byte[] output = Bytes.Of(forwarded.Output);
            ChunkedOutcome redecoded = ChunkedBodyDriver.Decode(SegmentedInput.Create(output, [])) with { Consumed = -2 };
            return redecoded == expected ? null : $"{run.Name}: wrote '{Bytes.Escape(forwarded.Output)}'\n which decodes to {redecoded}";
        });
        Assert.True(mismatch is null, mismatch);
    }

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void Step_InvalidChunkedBody_InvalidWithReason(string name, Segmentation mode)
    {
        InvalidChunkedCase c = ChunkedBodyCases.Invalid.Single(x => x.Name == name);

        string? mismatch = CaseRunner.FirstMismatch(Bytes.Of(c.Input), mode, () => 0, (run, _) =>
        {
            ForwardOutcome actual = Forward(run, BodyFraming.Chunked, -1, BodyFraming.Chunked);
            return actual.Step == BodyStep.Invalid && actual.Error == c.Reason ? null : $"{run.Name}: got {actual}, expected Invalid {c.Reason}";
        });
        Assert.True(mismatch is null, mismatch);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Step_ContentLengthWithPipelinedBytes_ForwardsExactlyTheBody(Segmentation mode)
    {
        byte[] input = Bytes.Of("hello worldGET /next HTTP/1.1\r\n");
        var expected = new ForwardOutcome(BodyStep.Done, RequestRejectionReason.None, 11, 11, "hello world", "");

        string? mismatch = CaseRunner.FirstMismatch(input, mode, () => 0, (run, _) =>
        {
            ForwardOutcome actual = Forward(run, BodyFraming.ContentLength, 11, BodyFraming.ContentLength);
            return actual == expected ? null : $"{run.Name}: got {actual}";
        });
        Assert.True(mismatch is null, mismatch);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Step_ContentLengthInputCompletesEarly_InputEnded(Segmentation mode)
    {
        byte[] input = Bytes.Of("hello");

        string? mismatch = CaseRunner.FirstMismatch(input, mode, () => 0, (run, _) =>
        {
            ForwardOutcome actual = Forward(run, BodyFraming.ContentLength, 11, BodyFraming.ContentLength, completeAtEnd: true);
            return actual.Step == BodyStep.InputEnded && actual.Bytes == 5 ? null : $"{run.Name}: got {actual}";
        });
        Assert.True(mismatch is null, mismatch);
    }

    [Fact]
    public void IsEmpty_NoBodyOrZeroLength_WriteEmptyOnlyForChunked()
    {
        Assert.True(new Http1BodyForwarder(BodyFraming.None, -1, BodyFraming.Chunked, null, Http1Limits.Default).IsEmpty);
        Assert.True(new Http1BodyForwarder(BodyFraming.ContentLength, 0, BodyFraming.ContentLength, null, Http1Limits.Default).IsEmpty);
        Assert.False(new Http1BodyForwarder(BodyFraming.Chunked, -1, BodyFraming.Chunked, null, Http1Limits.Default).IsEmpty);

        var writer = new ArrayBufferWriter<byte>();
        new Http1BodyForwarder(BodyFraming.None, -1, BodyFraming.Chunked, null, Http1Limits.Default).WriteEmpty(writer);
        new Http1BodyForwarder(BodyFraming.None, -1, BodyFraming.ContentLength, null, Http1Limits.Default).WriteEmpty(writer);
        Assert.Equal("0\r\n\r\n", Bytes.Text(writer.WrittenSpan));
    }

    private readonly record struct ForwardOutcome(BodyStep Step, RequestRejectionReason Error, long Consumed, long Bytes, string Output, string Trailers)
    {
        public override string ToString() =>
            $"{Step} {Error} consumed={Consumed} bytes={Bytes} output='{Testing.Bytes.Escape(Output)}' trailers='{Testing.Bytes.Escape(Trailers)}'";
    }

    /// <summary>Steps the forwarder once per arriving segment, advancing by what it consumed, as CopyAsync does.</summary>
    private static ForwardOutcome Forward(SegmentedInput input, BodyFraming inFraming, long contentLength, BodyFraming outFraming,
        bool completeAtEnd = false)
    {
        var trailers = new HttpHeaderBlock();
        var forwarder = new Http1BodyForwarder(inFraming, contentLength, outFraming, trailers, Http1Limits.Default);
        var output = new ArrayBufferWriter<byte>();
        long consumed = 0;
        BodyStep step = BodyStep.NeedMore;
        for (int k = 0; k < input.SegmentCount && step == BodyStep.NeedMore; k++)
        {
            ReadOnlySequence<byte> buffer = input.Available(consumed, k);
            bool isCompleted = completeAtEnd && k == input.SegmentCount - 1;
            step = forwarder.Step(buffer, isCompleted, output, out SequencePosition position);
            consumed += buffer.Slice(buffer.Start, position).Length;
        }
        return new ForwardOutcome(step, forwarder.Error, step == BodyStep.Done ? consumed : -1, forwarder.Bytes,
            Bytes.Text(output.WrittenSpan), HeadParseDriver.DescribeFields(trailers));
    }
}
