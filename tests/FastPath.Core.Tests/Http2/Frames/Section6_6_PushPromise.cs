// RFC 9113 §6.6: PUSH_PROMISE, acceptable only to a client that has push enabled (§6.5.2, §8.4).
using FastPath.Http2.Frames;
using static FastPath.Core.Tests.Http2.Frames.FrameDriver;

namespace FastPath.Core.Tests.Http2.Frames;

public sealed class Section6_6_PushPromise
{
    [Fact]
    public void PUSH_PROMISE_ReceivedByServer_ConnectionProtocolError() =>
        AssertReads(F(5, 4, 1, "00000002 8286"), "ConnectionError PROTOCOL_ERROR");

    [Fact]
    public void PUSH_PROMISE_ReceivedByClientPushDisabled_ConnectionProtocolError() =>
        AssertReads(F(5, 4, 1, "00000002 8286"), "ConnectionError PROTOCOL_ERROR", Client(enablePush: false));

    [Fact]
    public void PUSH_PROMISE_ReceivedByClientPushEnabled_Valid() =>
        AssertReads(F(5, 4, 1, "00000002 8286"), "PUSH_PROMISE s=1 f=0x04 len=6 promised=2 payload=8286\nend consumed=15", Client(enablePush: true));

    [Fact]
    public void PUSH_PROMISE_Padded_PaddingRemoved() =>
        AssertReads(F(5, 0x0c, 1, "01 80000004 8286 00"), "PUSH_PROMISE s=1 f=0x0c len=8 promised=4 payload=8286\nend consumed=17", Client(enablePush: true));

    [Fact]
    public void PUSH_PROMISE_WithoutEndHeaders_ContinuationFollows() =>
        AssertReads(Cat(F(5, 0, 1, "00000002 82"), F(9, 4, 1, "86")),
            "PUSH_PROMISE s=1 f=0x00 len=5 promised=2 payload=82\nCONTINUATION s=1 f=0x04 len=1 payload=86\nend consumed=24", Client(enablePush: true));

    [Fact]
    public void PUSH_PROMISE_Received_StreamIdZero_ConnectionError() =>
        AssertReads(F(5, 4, 0, "00000002 8286"), "ConnectionError PROTOCOL_ERROR", Client(enablePush: true));

    [Fact]
    public void PUSH_PROMISE_OddPromisedStreamId_ConnectionProtocolError() =>
        AssertReads(F(5, 4, 1, "00000003 8286"), "ConnectionError PROTOCOL_ERROR", Client(enablePush: true));

    [Fact]
    public void PUSH_PROMISE_TooShortForPromisedStreamId_ConnectionFrameSizeError() =>
        AssertReads(F(5, 4, 1, "000000"), "ConnectionError FRAME_SIZE_ERROR", Client(enablePush: true));

    [Fact]
    public void PUSH_PROMISE_PadLengthBeyondPayload_ConnectionProtocolError() =>
        AssertReads(F(5, 0x0c, 1, "03 00000002 8286"), "ConnectionError PROTOCOL_ERROR", Client(enablePush: true));
}
