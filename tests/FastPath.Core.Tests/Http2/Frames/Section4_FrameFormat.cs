// RFC 9113 §4.1 (frame format), §4.2 (frame size) and §5.5 (extending HTTP/2: unknown frame types).
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

public sealed class Section4_2_FrameSize
{
    [Fact]
    public void DATA_ExceedsMaxFrameSize_ConnectionFrameSizeError() =>
        AssertReads(FL(16_385, 0, 0, 1, "00"), "ConnectionError FRAME_SIZE_ERROR");

    [Fact]
    public void HEADERS_ExceedsMaxFrameSize_ConnectionFrameSizeError() =>
        AssertReads(FL(0xff_ffff, 1, 4, 1, ""), "ConnectionError FRAME_SIZE_ERROR");

    [Fact]
    public void UnknownType_ExceedsMaxFrameSize_ConnectionFrameSizeError() =>
        AssertReads(FL(16_385, 0xfa, 0, 0, ""), "ConnectionError FRAME_SIZE_ERROR");

    [Fact]
    public void DATA_AtMaxFrameSize_Accepted()
    {
        byte[] frame = F(0, 0, 1, new string('a', 2 * 16_384));
        string payload = string.Concat(DescribePayload(frame.AsSpan(9)));
        AssertReads(frame, $"DATA s=1 f=0x00 len=16384 payload={payload}\nend consumed=16393");
    }

    [Fact]
    public void DATA_LargerLocalMaxFrameSize_Accepted()
    {
        byte[] frame = F(0, 0, 1, new string('b', 2 * 20_000));
        AssertReads(frame, $"DATA s=1 f=0x00 len=20000 payload={DescribePayload(frame.AsSpan(9))}\nend consumed=20009", WithMaxFrameSize(20_000));
        AssertReads(frame, "ConnectionError FRAME_SIZE_ERROR", WithMaxFrameSize(19_999));
    }

    private static string DescribePayload(ReadOnlySpan<byte> payload)
    {
        long sum = 0;
        foreach (byte b in payload) sum = (sum * 31) + b;
        return $"{payload.Length}B#{sum}";
    }
}

public sealed class Section5_5_ExtendingHttp2
{
    [Fact]
    public void UnknownType_InsideFieldBlock_ConnectionProtocolError() =>
        AssertReads(Cat(F(1, 0, 1, "82"), F(0xfa, 0, 1, ""), F(9, 4, 1, "86")),
            "HEADERS s=1 f=0x00 len=1 payload=82\nConnectionError PROTOCOL_ERROR");
}
