// RFC 9113 §6.9: WINDOW_UPDATE frames; a zero increment is a stream or a connection error by stream id.
using FastPath.Http2;
using FastPath.Http2.Frames;
using static FastPath.Core.Tests.Http2.Frames.FrameDriver;

namespace FastPath.Core.Tests.Http2.Frames;

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
