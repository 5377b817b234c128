// Writes HTTP/2 frames (RFC 9113 §4.1, §6) into an IBufferWriter: one GetSpan/Advance per frame, nothing allocated.
// DATA and field blocks larger than the peer's SETTINGS_MAX_FRAME_SIZE are split as §4.2, §6.10 require.
using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;

namespace FastPath.Http2.Frames;

internal static class Http2FrameWriter
{
    private const int HeaderLength = Http2FrameReader.FrameHeaderLength;

    /// <summary>The 9-octet frame header (§4.1); the reserved bit is sent as 0.</summary>
    public static void WriteFrameHeader(Span<byte> destination, int length, Http2FrameType type, Http2FrameFlags flags, uint streamId)
    {
        Debug.Assert((uint)length <= Http2Settings.MaxMaxFrameSize && streamId <= int.MaxValue);
        destination[0] = (byte)(length >> 16);
        destination[1] = (byte)(length >> 8);
        destination[2] = (byte)length;
        destination[3] = (byte)type;
        destination[4] = (byte)flags;
        BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(5), streamId & 0x7FFF_FFFF);
    }

    /// <summary>
    /// DATA frames of at most <paramref name="maxFrameSize"/> octets each (the peer's SETTINGS_MAX_FRAME_SIZE);
    /// END_STREAM goes on the last. Empty data with END_STREAM is one empty frame. Flow control is the caller's.
    /// </summary>
    public static void WriteData(IBufferWriter<byte> output, uint streamId, ReadOnlySpan<byte> data, bool endStream, int maxFrameSize)
    {
        do
        {
            int chunk = Math.Min(data.Length, maxFrameSize);
            bool last = chunk == data.Length;
            WriteFrame(output, Http2FrameType.DATA, last && endStream ? Http2FrameFlags.END_STREAM : Http2FrameFlags.NONE,
                streamId, data.Slice(0, chunk));
            data = data.Slice(chunk);
        }
        while (!data.IsEmpty);
    }

    /// <summary>As above for data already in a sequence (a body read from the other side of the proxy).</summary>
    public static void WriteData(IBufferWriter<byte> output, uint streamId, in ReadOnlySequence<byte> data, bool endStream, int maxFrameSize)
    {
        if (data.IsSingleSegment)
        {
            WriteData(output, streamId, data.FirstSpan, endStream, maxFrameSize);
            return;
        }
        ReadOnlySequence<byte> rest = data;
        do
        {
            int chunk = (int)Math.Min(rest.Length, maxFrameSize);
            bool last = chunk == rest.Length;
            Span<byte> span = output.GetSpan(HeaderLength + chunk);
            WriteFrameHeader(span, chunk, Http2FrameType.DATA, last && endStream ? Http2FrameFlags.END_STREAM : Http2FrameFlags.NONE, streamId);
            rest.Slice(0, chunk).CopyTo(span.Slice(HeaderLength));
            output.Advance(HeaderLength + chunk);
            rest = rest.Slice(chunk);
        }
        while (!rest.IsEmpty);
    }

    /// <summary>
    /// A HEADERS frame, then CONTINUATION frames while the field block exceeds <paramref name="maxFrameSize"/>;
    /// END_HEADERS on the last of them, END_STREAM on the HEADERS frame (§6.2, §6.10). No padding, no priority.
    /// </summary>
    public static void WriteHeaders(IBufferWriter<byte> output, uint streamId, ReadOnlySpan<byte> fieldBlock, bool endStream, int maxFrameSize)
    {
        int chunk = Math.Min(fieldBlock.Length, maxFrameSize);
        Http2FrameFlags flags = endStream ? Http2FrameFlags.END_STREAM : Http2FrameFlags.NONE;
        if (chunk == fieldBlock.Length) flags |= Http2FrameFlags.END_HEADERS;
        WriteFrame(output, Http2FrameType.HEADERS, flags, streamId, fieldBlock.Slice(0, chunk));
        fieldBlock = fieldBlock.Slice(chunk);
        while (!fieldBlock.IsEmpty)
        {
            chunk = Math.Min(fieldBlock.Length, maxFrameSize);
            WriteFrame(output, Http2FrameType.CONTINUATION,
                chunk == fieldBlock.Length ? Http2FrameFlags.END_HEADERS : Http2FrameFlags.NONE, streamId, fieldBlock.Slice(0, chunk));
            fieldBlock = fieldBlock.Slice(chunk);
        }
    }

    /// <summary>SETTINGS with the given parameters, in order (§6.5); an empty list is allowed.</summary>
    public static void WriteSettings(IBufferWriter<byte> output, ReadOnlySpan<Http2Setting> settings)
    {
        int length = settings.Length * Http2Settings.EntryLength;
        Span<byte> span = output.GetSpan(HeaderLength + length);
        WriteFrameHeader(span, length, Http2FrameType.SETTINGS, Http2FrameFlags.NONE, 0);
        Span<byte> entry = span.Slice(HeaderLength);
        foreach (Http2Setting setting in settings)
        {
            BinaryPrimitives.WriteUInt16BigEndian(entry, (ushort)setting.Parameter);
            BinaryPrimitives.WriteUInt32BigEndian(entry.Slice(2), setting.Value);
            entry = entry.Slice(Http2Settings.EntryLength);
        }
        output.Advance(HeaderLength + length);
    }

    /// <summary>SETTINGS with ACK and an empty payload (§6.5.3).</summary>
    public static void WriteSettingsAck(IBufferWriter<byte> output) =>
        WriteFrame(output, Http2FrameType.SETTINGS, Http2FrameFlags.ACK, 0, default);

    /// <summary>PING (§6.7); an ACK echoes the received opaque data.</summary>
    public static void WritePing(IBufferWriter<byte> output, ulong opaqueData, bool ack)
    {
        Span<byte> span = output.GetSpan(HeaderLength + 8);
        WriteFrameHeader(span, 8, Http2FrameType.PING, ack ? Http2FrameFlags.ACK : Http2FrameFlags.NONE, 0);
        BinaryPrimitives.WriteUInt64BigEndian(span.Slice(HeaderLength), opaqueData);
        output.Advance(HeaderLength + 8);
    }

    /// <summary>GOAWAY (§6.8). Debug data is for diagnostics only and must never carry secrets or echo peer bytes raw.</summary>
    public static void WriteGoAway(IBufferWriter<byte> output, uint lastStreamId, Http2ErrorCode errorCode, ReadOnlySpan<byte> debugData = default)
    {
        int length = 8 + debugData.Length;
        Span<byte> span = output.GetSpan(HeaderLength + length);
        WriteFrameHeader(span, length, Http2FrameType.GOAWAY, Http2FrameFlags.NONE, 0);
        BinaryPrimitives.WriteUInt32BigEndian(span.Slice(HeaderLength), lastStreamId & 0x7FFF_FFFF);
        BinaryPrimitives.WriteUInt32BigEndian(span.Slice(HeaderLength + 4), (uint)errorCode);
        debugData.CopyTo(span.Slice(HeaderLength + 8));
        output.Advance(HeaderLength + length);
    }

    /// <summary>RST_STREAM (§6.4).</summary>
    public static void WriteRstStream(IBufferWriter<byte> output, uint streamId, Http2ErrorCode errorCode)
    {
        Span<byte> span = output.GetSpan(HeaderLength + 4);
        WriteFrameHeader(span, 4, Http2FrameType.RST_STREAM, Http2FrameFlags.NONE, streamId);
        BinaryPrimitives.WriteUInt32BigEndian(span.Slice(HeaderLength), (uint)errorCode);
        output.Advance(HeaderLength + 4);
    }

    /// <summary>WINDOW_UPDATE (§6.9) for a stream, or the connection when <paramref name="streamId"/> is 0; increment 1..2^31-1.</summary>
    public static void WriteWindowUpdate(IBufferWriter<byte> output, uint streamId, uint increment)
    {
        Debug.Assert(increment is > 0 and <= Http2Settings.MaxWindowSize);
        Span<byte> span = output.GetSpan(HeaderLength + 4);
        WriteFrameHeader(span, 4, Http2FrameType.WINDOW_UPDATE, Http2FrameFlags.NONE, streamId);
        BinaryPrimitives.WriteUInt32BigEndian(span.Slice(HeaderLength), increment & 0x7FFF_FFFF);
        output.Advance(HeaderLength + 4);
    }

    private static void WriteFrame(IBufferWriter<byte> output, Http2FrameType type, Http2FrameFlags flags, uint streamId, ReadOnlySpan<byte> payload)
    {
        Span<byte> span = output.GetSpan(HeaderLength + payload.Length);
        WriteFrameHeader(span, payload.Length, type, flags, streamId);
        payload.CopyTo(span.Slice(HeaderLength));
        output.Advance(HeaderLength + payload.Length);
    }
}
