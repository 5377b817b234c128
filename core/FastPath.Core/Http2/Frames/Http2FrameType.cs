// Frame types and flags of RFC 9113 §6 (values from the §11.2 registry). A flag's meaning depends on the frame type,
// so several names share one bit; undefined flags are ignored on receipt (§4.1).
namespace FastPath.Http2.Frames;

internal enum Http2FrameType : byte
{
    DATA = 0x0,
    HEADERS = 0x1,
    PRIORITY = 0x2,
    RST_STREAM = 0x3,
    SETTINGS = 0x4,
    PUSH_PROMISE = 0x5,
    PING = 0x6,
    GOAWAY = 0x7,
    WINDOW_UPDATE = 0x8,
    CONTINUATION = 0x9,
}

[Flags]
internal enum Http2FrameFlags : byte
{
    NONE = 0x0,
    END_STREAM = 0x1,
    ACK = 0x1,
    END_HEADERS = 0x4,
    PADDED = 0x8,
    PRIORITY = 0x20,
}
