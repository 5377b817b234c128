// ChunkedDecoder over the chunked case table: each body whole, split at every index and one byte per segment must
// decode to the same bytes and trailers, consume exactly the body, and fail with the same reason when invalid.
using System.Buffers;
using FastPath.Core.Tests.Testing;
using FastPath.Http;
using FastPath.Http1;

namespace FastPath.Core.Tests.Http1;

public class ChunkedDecoderTests
{
    public static TheoryData<string, Segmentation> ValidCases() => CaseRunner.EveryWay(ChunkedBodyCases.Valid.Select(c => c.Name));

    public static TheoryData<string, Segmentation> InvalidCases() => CaseRunner.EveryWay(ChunkedBodyCases.Invalid.Select(c => c.Name));

    public static TheoryData<string> ValidCaseNames() => new(ChunkedBodyCases.Valid.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(ValidCases))]
    public void Next_ValidBody_DecodesDataAndTrailers(string name, Segmentation mode)
    {
        ValidChunkedCase c = ChunkedBodyCases.Valid.Single(x => x.Name == name);
        byte[] input = Bytes.Of(c.Input);
        var expected = new ChunkedOutcome(Http1ParseResult.Complete, RequestRejectionReason.None, c.Data, c.Trailers,
            input.Length - c.After.Length);

        string? mismatch = CaseRunner.FirstMismatch(input, mode, () => 0, (run, _) =>
        {
            ChunkedOutcome actual = ChunkedBodyDriver.Decode(run);
            return actual == expected ? null : $"{run.Name}:\n got      {actual}\n expected {expected}";
        });
        Assert.True(mismatch is null, mismatch);
    }

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void Next_InvalidBody_FailsWithReason(string name, Segmentation mode)
    {
        InvalidChunkedCase c = ChunkedBodyCases.Invalid.Single(x => x.Name == name);

        string? mismatch = CaseRunner.FirstMismatch(Bytes.Of(c.Input), mode, () => 0, (run, _) =>
        {
            ChunkedOutcome actual = ChunkedBodyDriver.Decode(run);
            return actual.Result == Http1ParseResult.Error && actual.Reason == c.Reason
                ? null
                : $"{run.Name}: got {actual}, expected Error {c.Reason}";
        });
        Assert.True(mismatch is null, mismatch);
    }

    [Theory]
    [MemberData(nameof(ValidCaseNames))]
    public void Next_ProperPrefixOfValidBody_NeedsMoreWithoutError(string name)
    {
        ValidChunkedCase c = ChunkedBodyCases.Valid.Single(x => x.Name == name);
        byte[] input = Bytes.Of(c.Input);
        int bodyLength = input.Length - c.After.Length;

        for (int length = 0; length < bodyLength; length++)
        {
            ChunkedOutcome actual = ChunkedBodyDriver.Decode(SegmentedInput.Create(input[..length], []));
            Assert.True(actual.Result == Http1ParseResult.Incomplete, $"prefix of {length} bytes: {actual}");
            Assert.StartsWith(actual.Data, c.Data, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Next_ChunkLargerThanBuffer_YieldsDataAsItArrives()
    {
        var decoder = new ChunkedDecoder();
        var reader = new SequenceReader<byte>(SequenceFactory.OneSegment(Bytes.Of("10\r\n0123456")));

        Assert.Equal(ChunkedStep.Data, decoder.Next(ref reader, out ReadOnlySequence<byte> data));
        Assert.Equal("0123456", Bytes.Text(data.ToArray()));
        Assert.Equal(ChunkedStep.NeedMore, decoder.Next(ref reader, out _));
        Assert.Equal(11, reader.Consumed);

        reader = new SequenceReader<byte>(SequenceFactory.OneSegment(Bytes.Of("789abcdef\r\n0\r\n")));
        Assert.Equal(ChunkedStep.Data, decoder.Next(ref reader, out data));
        Assert.Equal("789abcdef", Bytes.Text(data.ToArray()));
        Assert.Equal(ChunkedStep.Trailers, decoder.Next(ref reader, out _));
        Assert.Equal(RequestRejectionReason.None, decoder.Error);
    }
}
