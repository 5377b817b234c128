// RFC 9113 §6.4: RST_STREAM frames.
using FastPath.Http2.Frames;
using static FastPath.Core.Tests.Http2.Frames.FrameDriver;

namespace FastPath.Core.Tests.Http2.Frames;

public sealed class Section6_4_RstStream
{
    [Fact]
    public void RST_STREAM_Received_Valid() =>
        AssertReads(F(3, 0, 1, "00000008"), "RST_STREAM s=1 f=0x00 len=4 code=CANCEL\nend consumed=13");

    [Fact]
    public void RST_STREAM_UnknownErrorCode_Kept() =>
        AssertReads(F(3, 0, 1, "000000ff"), "RST_STREAM s=1 f=0x00 len=4 code=255\nend consumed=13");

    [Fact]
    public void RST_STREAM_Received_StreamIdZero_ConnectionError() =>
        AssertReads(F(3, 0, 0, "00000008"), "ConnectionError PROTOCOL_ERROR");

    [Fact]
    public void RST_STREAM_LengthThree_ConnectionFrameSizeError() =>
        AssertReads(F(3, 0, 1, "000008"), "ConnectionError FRAME_SIZE_ERROR");

    [Fact]
    public void RST_STREAM_LengthFive_ConnectionFrameSizeError() =>
        AssertReads(F(3, 0, 1, "0000000800"), "ConnectionError FRAME_SIZE_ERROR");

    [Fact]
    public void RST_STREAM_Written_RoundTrip() =>
        AssertRoundTrip(o => Http2FrameWriter.WriteRstStream(o, 9, FastPath.Http2.Http2ErrorCode.REFUSED_STREAM),
            "RST_STREAM s=9 f=0x00 len=4 code=REFUSED_STREAM\nend consumed=13");
}
