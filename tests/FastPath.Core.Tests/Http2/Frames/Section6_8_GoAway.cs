// RFC 9113 §6.8: GOAWAY frames.
using FastPath.Http2;
using FastPath.Http2.Frames;
using static FastPath.Core.Tests.Http2.Frames.FrameDriver;

namespace FastPath.Core.Tests.Http2.Frames;

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
