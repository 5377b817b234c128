// RFC 9113 §5.5: unknown frame types are ignored, except inside a field block.
using FastPath.Http2.Frames;
using static FastPath.Core.Tests.Http2.Frames.FrameDriver;

namespace FastPath.Core.Tests.Http2.Frames;

public sealed class Section5_5_ExtendingHttp2
{
    [Fact]
    public void UnknownType_InsideFieldBlock_ConnectionProtocolError() =>
        AssertReads(Cat(F(1, 0, 1, "82"), F(0xfa, 0, 1, ""), F(9, 4, 1, "86")),
            "HEADERS s=1 f=0x00 len=1 payload=82\nConnectionError PROTOCOL_ERROR");
}
