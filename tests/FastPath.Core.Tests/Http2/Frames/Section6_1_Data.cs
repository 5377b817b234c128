// RFC 9113 §6.1: DATA frames.
using FastPath.Http2.Frames;
using static FastPath.Core.Tests.Http2.Frames.FrameDriver;

namespace FastPath.Core.Tests.Http2.Frames;

public sealed class Section6_1_Data
{
    [Fact]
    public void DATA_Received_Valid() =>
        AssertReads(F(0, 1, 1, "68656c6c6f"), "DATA s=1 f=0x01 len=5 payload=68656c6c6f\nend consumed=14");

    [Fact]
    public void DATA_Padded_PaddingRemoved() =>
        AssertReads(F(0, 8, 1, "02 6869 0000"), "DATA s=1 f=0x08 len=5 payload=6869\nend consumed=14");

    [Fact]
    public void DATA_PaddedAllPadding_Valid() =>
        AssertReads(F(0, 8, 1, "02 0000"), "DATA s=1 f=0x08 len=3\nend consumed=12");

    [Fact]
    public void DATA_Empty_Valid() => AssertReads(F(0, 1, 3, ""), "DATA s=3 f=0x01 len=0\nend consumed=9");

    [Fact]
    public void DATA_Received_StreamIdZero_ConnectionError() =>
        AssertReads(F(0, 0, 0, "6869"), "ConnectionError PROTOCOL_ERROR");

    [Fact]
    public void DATA_PadLengthEqualsPayloadLength_ConnectionProtocolError() =>
        AssertReads(F(0, 8, 1, "03 0000"), "ConnectionError PROTOCOL_ERROR");

    [Fact]
    public void DATA_PadLengthBeyondPayload_ConnectionProtocolError() =>
        AssertReads(F(0, 8, 1, "ff 6869"), "ConnectionError PROTOCOL_ERROR");

    [Fact]
    public void DATA_PaddedWithoutPadLength_ConnectionFrameSizeError() =>
        AssertReads(F(0, 8, 1, ""), "ConnectionError FRAME_SIZE_ERROR");

    [Fact]
    public void DATA_Written_RoundTrip() =>
        AssertRoundTrip(o => Http2FrameWriter.WriteData(o, 1, "hello"u8, endStream: true, 16_384),
            "DATA s=1 f=0x01 len=5 payload=68656c6c6f\nend consumed=14");

    [Fact]
    public void DATA_WrittenLargerThanMaxFrameSize_SplitEndStreamOnLast() =>
        AssertRoundTrip(o => Http2FrameWriter.WriteData(o, 5, "abcdefghijklmnopqrstuvwxy"u8, endStream: true, 10),
            "DATA s=5 f=0x00 len=10 payload=6162636465666768696a\nDATA s=5 f=0x00 len=10 payload=6b6c6d6e6f7071727374\n" +
            "DATA s=5 f=0x01 len=5 payload=7576777879\nend consumed=52");

    [Fact]
    public void DATA_WrittenEmptyEndStream_OneEmptyFrame() =>
        AssertRoundTrip(o => Http2FrameWriter.WriteData(o, 1, ReadOnlySpan<byte>.Empty, endStream: true, 16_384),
            "DATA s=1 f=0x01 len=0\nend consumed=9");

    [Fact]
    public void DATA_WrittenFromSequence_SplitAcrossSegments() =>
        AssertRoundTrip(o => Http2FrameWriter.WriteData(o, 1, Testing.SequenceFactory.OneBytePerSegment("abcdefghijkl"u8.ToArray()), endStream: false, 5),
            "DATA s=1 f=0x00 len=5 payload=6162636465\nDATA s=1 f=0x00 len=5 payload=666768696a\nDATA s=1 f=0x00 len=2 payload=6b6c\nend consumed=39");
}
