// RFC 9113 §6.3: PRIORITY frames, parsed for their errors and otherwise ignored (§5.3.2).
using FastPath.Http2.Frames;
using static FastPath.Core.Tests.Http2.Frames.FrameDriver;

namespace FastPath.Core.Tests.Http2.Frames;

public sealed class Section6_3_Priority
{
    [Fact]
    public void PRIORITY_Received_ValidAndIgnored() =>
        AssertReads(F(2, 0, 3, "00000001 10"), "PRIORITY s=3 f=0x00 len=5\nend consumed=14");

    [Fact]
    public void PRIORITY_Received_StreamIdZero_ConnectionError() =>
        AssertReads(F(2, 0, 0, "00000001 10"), "ConnectionError PROTOCOL_ERROR");

    [Fact]
    public void PRIORITY_LengthFour_StreamFrameSizeError_ConnectionGoesOn() =>
        AssertReads(Cat(F(2, 0, 3, "00000001"), F(6, 0, 0, "0102030405060708")),
            "StreamError FRAME_SIZE_ERROR s=3\nPING s=0 f=0x00 len=8 opaque=0x0102030405060708\nend consumed=30");

    [Fact]
    public void PRIORITY_LengthSix_StreamFrameSizeError() =>
        AssertReads(F(2, 0, 5, "00000001 10 00"), "StreamError FRAME_SIZE_ERROR s=5\nend consumed=15");

    [Fact]
    public void PRIORITY_DependsOnItself_StreamProtocolError() =>
        AssertReads(F(2, 0, 3, "80000003 10"), "StreamError PROTOCOL_ERROR s=3\nend consumed=14");
}
