// RFC 9113 §4.2: frame size - the local SETTINGS_MAX_FRAME_SIZE bounds every frame.
using FastPath.Http2.Frames;
using static FastPath.Core.Tests.Http2.Frames.FrameDriver;

namespace FastPath.Core.Tests.Http2.Frames;

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
