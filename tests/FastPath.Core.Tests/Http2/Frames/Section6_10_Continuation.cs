// RFC 9113 §6.10: CONTINUATION frames and the field-block sequence rule.
using FastPath.Http2;
using FastPath.Http2.Frames;
using static FastPath.Core.Tests.Http2.Frames.FrameDriver;

namespace FastPath.Core.Tests.Http2.Frames;

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
