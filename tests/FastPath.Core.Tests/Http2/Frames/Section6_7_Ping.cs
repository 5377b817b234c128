// RFC 9113 §6.7 PING, §6.8 GOAWAY, §6.9 WINDOW_UPDATE, §6.10 CONTINUATION.
using FastPath.Http2;
using FastPath.Http2.Frames;
using static FastPath.Core.Tests.Http2.Frames.FrameDriver;

namespace FastPath.Core.Tests.Http2.Frames;

public sealed class Section6_7_Ping
{
    [Fact]
    public void PING_Received_Valid() =>
        AssertReads(F(6, 0, 0, "0102030405060708"), "PING s=0 f=0x00 len=8 opaque=0x0102030405060708\nend consumed=17");

    [Fact]
    public void PING_Ack_Valid() =>
        AssertReads(F(6, 1, 0, "0102030405060708"), "PING s=0 f=0x01 len=8 opaque=0x0102030405060708\nend consumed=17");

    [Fact]
    public void PING_Received_StreamIdNonZero_ConnectionProtocolError() =>
        AssertReads(F(6, 0, 1, "0102030405060708"), "ConnectionError PROTOCOL_ERROR");

    [Fact]
    public void PING_LengthSeven_ConnectionFrameSizeError() =>
        AssertReads(F(6, 0, 0, "01020304050607"), "ConnectionError FRAME_SIZE_ERROR");

    [Fact]
    public void PING_LengthNine_ConnectionFrameSizeError() =>
        AssertReads(F(6, 0, 0, "010203040506070809"), "ConnectionError FRAME_SIZE_ERROR");

    [Fact]
    public void PING_AckWritten_EchoesOpaqueData() =>
        AssertRoundTrip(o => Http2FrameWriter.WritePing(o, 0x0102030405060708, ack: true),
            "PING s=0 f=0x01 len=8 opaque=0x0102030405060708\nend consumed=17");
}

public sealed class Section6_8_GoAway
{
    [Fact]
    public void GOAWAY_Received_WithDebugData() =>
        AssertReads(F(7, 0, 0, "00000005 00000002 6465627567"), "GOAWAY s=0 f=0x00 len=13 last=5 code=INTERNAL_ERROR payload=6465627567\nend consumed=22");

    [Fact]
    public void GOAWAY_Received_ReservedBitIgnored() =>
        AssertReads(F(7, 0, 0, "80000007 00000000"), "GOAWAY s=0 f=0x00 len=8 last=7 code=NO_ERROR\nend consumed=17");

    [Fact]
    public void GOAWAY_Received_StreamIdNonZero_ConnectionProtocolError() =>
        AssertReads(F(7, 0, 1, "00000005 00000002"), "ConnectionError PROTOCOL_ERROR");

    [Fact]
    public void GOAWAY_LengthSeven_ConnectionFrameSizeError() =>
        AssertReads(F(7, 0, 0, "00000005 000000"), "ConnectionError FRAME_SIZE_ERROR");

    [Fact]
    public void GOAWAY_Written_RoundTrip() =>
        AssertRoundTrip(o => Http2FrameWriter.WriteGoAway(o, 31, Http2ErrorCode.ENHANCE_YOUR_CALM, "calm"u8),
            "GOAWAY s=0 f=0x00 len=12 last=31 code=ENHANCE_YOUR_CALM payload=63616c6d\nend consumed=21");
}

public sealed class Section6_9_WindowUpdate
{
    [Fact]
    public void WINDOW_UPDATE_Received_Stream_Valid() =>
        AssertReads(F(8, 0, 1, "00001000"), "WINDOW_UPDATE s=1 f=0x00 len=4 inc=4096\nend consumed=13");

    [Fact]
    public void WINDOW_UPDATE_Received_Connection_Valid() =>
        AssertReads(F(8, 0, 0, "7fffffff"), "WINDOW_UPDATE s=0 f=0x00 len=4 inc=2147483647\nend consumed=13");

    [Fact]
    public void WINDOW_UPDATE_ReservedBitSet_Ignored() =>
        AssertReads(F(8, 0, 1, "80000001"), "WINDOW_UPDATE s=1 f=0x00 len=4 inc=1\nend consumed=13");

    [Fact]
    public void WINDOW_UPDATE_IncrementZeroOnStream_StreamProtocolError() =>
        AssertReads(Cat(F(8, 0, 1, "00000000"), F(8, 0, 0, "00000001")),
            "StreamError PROTOCOL_ERROR s=1\nWINDOW_UPDATE s=0 f=0x00 len=4 inc=1\nend consumed=26");

    [Fact]
    public void WINDOW_UPDATE_IncrementZeroOnConnection_ConnectionProtocolError() =>
        AssertReads(F(8, 0, 0, "80000000"), "ConnectionError PROTOCOL_ERROR");

    [Fact]
    public void WINDOW_UPDATE_LengthThree_ConnectionFrameSizeError() =>
        AssertReads(F(8, 0, 1, "000001"), "ConnectionError FRAME_SIZE_ERROR");

    [Fact]
    public void WINDOW_UPDATE_LengthFive_ConnectionFrameSizeError() =>
        AssertReads(F(8, 0, 0, "0000000100"), "ConnectionError FRAME_SIZE_ERROR");

    [Fact]
    public void WINDOW_UPDATE_Written_RoundTrip() =>
        AssertRoundTrip(o => { Http2FrameWriter.WriteWindowUpdate(o, 0, 1 << 20); Http2FrameWriter.WriteWindowUpdate(o, 3, 100); },
            "WINDOW_UPDATE s=0 f=0x00 len=4 inc=1048576\nWINDOW_UPDATE s=3 f=0x00 len=4 inc=100\nend consumed=26");
}

public sealed class Section6_10_Continuation
{
    [Fact]
    public void CONTINUATION_AfterHeaders_Valid() =>
        AssertReads(Cat(F(1, 1, 1, "82"), F(9, 0, 1, "86"), F(9, 4, 1, "84"), F(0, 1, 1, "")),
            "HEADERS s=1 f=0x01 len=1 payload=82\nCONTINUATION s=1 f=0x00 len=1 payload=86\nCONTINUATION s=1 f=0x04 len=1 payload=84\n" +
            "DATA s=1 f=0x01 len=0\nend consumed=39");

    [Fact]
    public void CONTINUATION_WithoutHeaders_ConnectionProtocolError() =>
        AssertReads(F(9, 4, 1, "86"), "ConnectionError PROTOCOL_ERROR");

    [Fact]
    public void CONTINUATION_AfterEndHeaders_ConnectionProtocolError() =>
        AssertReads(Cat(F(1, 4, 1, "82"), F(9, 4, 1, "86")), "HEADERS s=1 f=0x04 len=1 payload=82\nConnectionError PROTOCOL_ERROR");

    [Fact]
    public void CONTINUATION_OnOtherStream_ConnectionProtocolError() =>
        AssertReads(Cat(F(1, 0, 1, "82"), F(9, 4, 3, "86")), "HEADERS s=1 f=0x00 len=1 payload=82\nConnectionError PROTOCOL_ERROR");

    [Fact]
    public void CONTINUATION_Received_StreamIdZero_ConnectionError() =>
        AssertReads(Cat(F(1, 0, 1, "82"), F(9, 4, 0, "86")), "HEADERS s=1 f=0x00 len=1 payload=82\nConnectionError PROTOCOL_ERROR");

    [Fact]
    public void CONTINUATION_InterleavedPing_ConnectionProtocolError() =>
        AssertReads(Cat(F(1, 0, 1, "82"), F(6, 0, 0, "0102030405060708"), F(9, 4, 1, "86")),
            "HEADERS s=1 f=0x00 len=1 payload=82\nConnectionError PROTOCOL_ERROR");
}
