// RFC 9113 §4.1: frame format - reserved bit, undefined flags, unknown types, frames across segments.
using FastPath.Http2.Frames;
using static FastPath.Core.Tests.Http2.Frames.FrameDriver;

namespace FastPath.Core.Tests.Http2.Frames;

public sealed class Section4_1_FrameFormat
{
    [Fact]
    public void Frame_ReservedBitSet_Ignored() =>
        AssertReads(F(8, 0, 0x8000_0001, "00000001"), "WINDOW_UPDATE s=1 f=0x00 len=4 inc=1\nend consumed=13");

    [Fact]
    public void Frame_UndefinedFlags_Ignored() =>
        AssertReads(F(6, 0xfe, 0, "0102030405060708"), "PING s=0 f=0xfe len=8 opaque=0x0102030405060708\nend consumed=17");

    [Fact]
    public void Frame_UnknownType_IgnoredAndDiscarded() =>
        AssertReads(Cat(F(0xfa, 0xff, 0, "0102"), F(0x0a, 0, 7, ""), F(6, 0, 0, "0102030405060708")),
            "PING s=0 f=0x00 len=8 opaque=0x0102030405060708\nend consumed=37");

    [Fact]
    public void Frame_HeaderOnly_IncompleteConsumesNothing() =>
        AssertReads(H("00 00 08 06 00 00 00 00 00 01 02 03"), "end consumed=0");

    [Fact]
    public void Frame_SeveralInOneBuffer_ReadInOrder() =>
        AssertReads(Cat(F(4, 0, 0, ""), F(4, 1, 0, ""), F(8, 0, 0, "00010000"), F(1, 5, 1, "8286"), F(0, 1, 1, "6869")),
            "SETTINGS s=0 f=0x00 len=0\nSETTINGS s=0 f=0x01 len=0\nWINDOW_UPDATE s=0 f=0x00 len=4 inc=65536\n" +
            "HEADERS s=1 f=0x05 len=2 payload=8286\nDATA s=1 f=0x01 len=2 payload=6869\nend consumed=53");
}
