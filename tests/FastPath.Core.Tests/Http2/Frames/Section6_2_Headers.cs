// RFC 9113 §6.2: HEADERS frames; priority fields (deprecated by RFC 9113 §5.3.2) are read past and ignored.
using FastPath.Http2.Frames;
using static FastPath.Core.Tests.Http2.Frames.FrameDriver;

namespace FastPath.Core.Tests.Http2.Frames;

public sealed class Section6_2_Headers
{
    [Fact]
    public void HEADERS_Received_Valid() =>
        AssertReads(F(1, 5, 1, "8286"), "HEADERS s=1 f=0x05 len=2 payload=8286\nend consumed=11");

    [Fact]
    public void HEADERS_Padded_PaddingRemoved() =>
        AssertReads(F(1, 0x0c, 1, "01 8286 00"), "HEADERS s=1 f=0x0c len=4 payload=8286\nend consumed=13");

    [Fact]
    public void HEADERS_PriorityFlag_FieldsIgnored() =>
        AssertReads(F(1, 0x24, 3, "80000001 10 8286"), "HEADERS s=3 f=0x24 len=7 payload=8286\nend consumed=16");

    [Fact]
    public void HEADERS_PaddedAndPriority_FieldsAndPaddingRemoved() =>
        AssertReads(F(1, 0x2c, 3, "02 00000001 10 8286 0000"), "HEADERS s=3 f=0x2c len=10 payload=8286\nend consumed=19");

    [Fact]
    public void HEADERS_Received_StreamIdZero_ConnectionError() =>
        AssertReads(F(1, 4, 0, "8286"), "ConnectionError PROTOCOL_ERROR");

    [Fact]
    public void HEADERS_PadLengthBeyondPayload_ConnectionProtocolError() =>
        AssertReads(F(1, 0x0c, 1, "05 8286"), "ConnectionError PROTOCOL_ERROR");

    [Fact]
    public void HEADERS_PriorityAndPadLengthBeyondPayload_ConnectionProtocolError() =>
        AssertReads(F(1, 0x2c, 3, "02 00000001 10 00"), "ConnectionError PROTOCOL_ERROR");

    [Fact]
    public void HEADERS_PriorityFlagTooShort_ConnectionFrameSizeError() =>
        AssertReads(F(1, 0x24, 1, "0000"), "ConnectionError FRAME_SIZE_ERROR");

    [Fact]
    public void HEADERS_DependsOnItself_ConnectionProtocolError() =>
        AssertReads(F(1, 0x24, 3, "00000003 10 82"), "ConnectionError PROTOCOL_ERROR");

    [Fact]
    public void HEADERS_WithoutEndHeaders_FollowedByData_ConnectionProtocolError() =>
        AssertReads(Cat(F(1, 0, 1, "82"), F(0, 1, 1, "")), "HEADERS s=1 f=0x00 len=1 payload=82\nConnectionError PROTOCOL_ERROR");

    [Fact]
    public void HEADERS_Written_RoundTrip() =>
        AssertRoundTrip(o => Http2FrameWriter.WriteHeaders(o, 1, [0x82, 0x86, 0x84], endStream: false, 16_384),
            "HEADERS s=1 f=0x04 len=3 payload=828684\nend consumed=12");

    [Fact]
    public void HEADERS_WrittenLargerThanMaxFrameSize_SplitIntoContinuation() =>
        AssertRoundTrip(o => Http2FrameWriter.WriteHeaders(o, 7, "abcdefghijklmnopqrstuvwxy"u8, endStream: true, 10),
            "HEADERS s=7 f=0x01 len=10 payload=6162636465666768696a\nCONTINUATION s=7 f=0x00 len=10 payload=6b6c6d6e6f7071727374\n" +
            "CONTINUATION s=7 f=0x04 len=5 payload=7576777879\nend consumed=52");
}
