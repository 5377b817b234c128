// A parsed frame as a value: the 9-octet header (§4.1), the payload with padding and fixed fields removed, and the
// fixed fields of its type. Payload slices the reader's sequence, so a frame is valid until that buffer is consumed.
using System.Buffers;

namespace FastPath.Http2.Frames;

internal readonly struct Http2Frame
{
    private readonly uint _field;     // Promised Stream ID, Last-Stream-ID or Window Size Increment
    private readonly ulong _opaque;   // PING Opaque Data

    public Http2Frame(Http2FrameType type, Http2FrameFlags flags, uint streamId, int length, ReadOnlySequence<byte> payload,
        uint field = 0, Http2ErrorCode errorCode = Http2ErrorCode.NO_ERROR, ulong opaque = 0)
    {
        Type = type;
        Flags = flags;
        StreamId = streamId;
        Length = length;
        Payload = payload;
        _field = field;
        ErrorCode = errorCode;
        _opaque = opaque;
    }

    public Http2FrameType Type { get; }

    public Http2FrameFlags Flags { get; }

    /// <summary>31-bit stream identifier; the reserved bit is ignored on receipt (§4.1).</summary>
    public uint StreamId { get; }

    /// <summary>The header's Length field: the whole payload, padding included (what DATA flow control counts, §6.9.1).</summary>
    public int Length { get; }

    /// <summary>
    /// DATA: the data; HEADERS, PUSH_PROMISE, CONTINUATION: the field block fragment; SETTINGS: the 6-octet entries;
    /// GOAWAY: the additional debug data; other types: empty. Padding is never included.
    /// </summary>
    public ReadOnlySequence<byte> Payload { get; }

    public bool EndStream => (Flags & Http2FrameFlags.END_STREAM) != 0 && Type is Http2FrameType.DATA or Http2FrameType.HEADERS;

    public bool EndHeaders => (Flags & Http2FrameFlags.END_HEADERS) != 0 && Type is Http2FrameType.HEADERS or Http2FrameType.PUSH_PROMISE or Http2FrameType.CONTINUATION;

    public bool IsAck => (Flags & Http2FrameFlags.ACK) != 0 && Type is Http2FrameType.SETTINGS or Http2FrameType.PING;

    /// <summary>PUSH_PROMISE (§6.6).</summary>
    public uint PromisedStreamId => _field;

    /// <summary>GOAWAY (§6.8).</summary>
    public uint LastStreamId => _field;

    /// <summary>WINDOW_UPDATE (§6.9), never 0 in a frame the reader returns.</summary>
    public uint WindowSizeIncrement => _field;

    /// <summary>RST_STREAM and GOAWAY; may be a code this endpoint does not know (§7).</summary>
    public Http2ErrorCode ErrorCode { get; }

    /// <summary>PING's 8 octets as a big-endian number; echoed back in the ACK (§6.7).</summary>
    public ulong OpaqueData => _opaque;
}

/// <summary>Whether an error ends one stream (RST_STREAM, §5.4.2) or the whole connection (GOAWAY, §5.4.1).</summary>
internal enum Http2ErrorScope : byte
{
    Stream = 0,
    Connection,
}

/// <summary>An error found in received frames, with the stream it concerns (0 for the connection).</summary>
internal readonly record struct Http2FrameError(Http2ErrorScope Scope, Http2ErrorCode Code, uint StreamId)
{
    public static Http2FrameError Connection(Http2ErrorCode code) => new(Http2ErrorScope.Connection, code, 0);

    public static Http2FrameError Stream(Http2ErrorCode code, uint streamId) => new(Http2ErrorScope.Stream, code, streamId);
}
