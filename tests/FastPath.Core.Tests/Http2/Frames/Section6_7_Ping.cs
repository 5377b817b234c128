// RFC 9113 §6.7: PING frames.
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
