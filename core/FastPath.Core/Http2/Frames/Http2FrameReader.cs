// Parses HTTP/2 frames (RFC 9113 §4.1, §6) from a SequenceReader: the 9-octet header, the size limit, the per-type
// length, stream-id, padding and CONTINUATION rules. Errors are values; "not all here yet" is Incomplete. A frame is
// consumed only once all of it has arrived, so a caller buffers at most one SETTINGS_MAX_FRAME_SIZE frame.
using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace FastPath.Http2.Frames;

internal enum Http2FrameReadStatus : byte
{
    /// <summary>A frame was read and consumed.</summary>
    Frame = 0,
    /// <summary>The next frame has not fully arrived; nothing more was consumed.</summary>
    Incomplete,
    /// <summary>The frame was consumed and its stream must be reset; the connection goes on (§5.4.2).</summary>
    StreamError,
    /// <summary>The connection must end with GOAWAY (§5.4.1); the reader's position is unspecified.</summary>
    ConnectionError,
}

/// <summary>One per connection: holds the local SETTINGS_MAX_FRAME_SIZE and the open field block, if any (§6.10).</summary>
internal struct Http2FrameReader
{
    public const int FrameHeaderLength = 9;

    private const uint StreamIdMask = 0x7FFF_FFFF;

    /// <summary>Stream whose field block awaits CONTINUATION frames; 0 when none is open.</summary>
    private uint _continuationStreamId;

    private Http2FrameReader(uint maxFrameSize, bool acceptPushPromise)
    {
        MaxFrameSize = maxFrameSize;
        AcceptPushPromise = acceptPushPromise;
    }

    /// <summary>A server never accepts PUSH_PROMISE (§8.4: clients cannot push).</summary>
    public static Http2FrameReader ForServer(uint maxFrameSize = Http2Settings.MinMaxFrameSize) => new(maxFrameSize, false);

    /// <summary>A client accepts PUSH_PROMISE only while its own SETTINGS_ENABLE_PUSH is 1 (§6.5.2, §6.6).</summary>
    public static Http2FrameReader ForClient(bool enablePush, uint maxFrameSize = Http2Settings.MinMaxFrameSize) =>
        new(maxFrameSize, enablePush);

    /// <summary>The local SETTINGS_MAX_FRAME_SIZE; raise it only once the peer has acknowledged it (§6.5.3).</summary>
    public uint MaxFrameSize { get; set; }

    /// <summary>Whether PUSH_PROMISE is a frame (client with push enabled) or a PROTOCOL_ERROR.</summary>
    public bool AcceptPushPromise { get; set; }

    /// <summary>True between a HEADERS or PUSH_PROMISE without END_HEADERS and the CONTINUATION that ends it.</summary>
    public readonly bool InFieldBlock => _continuationStreamId != 0;

    /// <summary>
    /// Reads the next frame. Frames of unknown type are consumed and skipped (§4.1, §5.5). On StreamError and
    /// ConnectionError, <paramref name="error"/> says which stream and code; on Frame, <paramref name="frame"/>.
    /// </summary>
    public Http2FrameReadStatus TryReadFrame(ref SequenceReader<byte> reader, out Http2Frame frame, out Http2FrameError error)
    {
        while (true)
        {
            Http2FrameReadStatus status = TryReadOne(ref reader, out frame, out error, out bool skipped);
            if (!skipped) return status;
        }
    }

    private Http2FrameReadStatus TryReadOne(ref SequenceReader<byte> reader, out Http2Frame frame, out Http2FrameError error,
        out bool skipped)
    {
        frame = default;
        error = default;
        skipped = false;

        // Fast path: the header lies in the current segment. Slow path: it straddles segments and is copied out.
        Span<byte> copy = stackalloc byte[FrameHeaderLength];
        scoped ReadOnlySpan<byte> header = reader.UnreadSpan;
        if (header.Length < FrameHeaderLength)
        {
            if (reader.Remaining < FrameHeaderLength) return Http2FrameReadStatus.Incomplete;
            reader.TryCopyTo(copy);
            header = copy;
        }

        int length = (header[0] << 16) | (header[1] << 8) | header[2];
        var type = (Http2FrameType)header[3];
        var flags = (Http2FrameFlags)header[4];
        uint streamId = BinaryPrimitives.ReadUInt32BigEndian(header.Slice(5)) & StreamIdMask; // R bit ignored (§4.1)

        // §4.2: a frame over our limit is refused before it is buffered. Kept a connection error for every type, which
        // §4.2 allows, so an oversize DATA frame cannot make us hold up to 16 MiB only to reset its stream.
        if ((uint)length > MaxFrameSize) return ConnectionError(out error, Http2ErrorCode.FRAME_SIZE_ERROR);

        // §6.2, §6.10: once a field block is open, only its CONTINUATION frames may follow - of any type, known or not (§5.5).
        if (_continuationStreamId != 0 && (type != Http2FrameType.CONTINUATION || streamId != _continuationStreamId))
            return ConnectionError(out error, Http2ErrorCode.PROTOCOL_ERROR);

        // Header-only checks come before waiting for the payload: the connection is lost whatever the payload says.
        switch (type)
        {
            case Http2FrameType.DATA:
            case Http2FrameType.HEADERS:
            case Http2FrameType.PRIORITY:
            case Http2FrameType.RST_STREAM:
            case Http2FrameType.PUSH_PROMISE:
            case Http2FrameType.CONTINUATION:
                if (streamId == 0) return ConnectionError(out error, Http2ErrorCode.PROTOCOL_ERROR);
                break;
            case Http2FrameType.SETTINGS:
            case Http2FrameType.PING:
            case Http2FrameType.GOAWAY:
                if (streamId != 0) return ConnectionError(out error, Http2ErrorCode.PROTOCOL_ERROR);
                break;
        }

        switch (type)
        {
            case Http2FrameType.RST_STREAM when length != 4:
            case Http2FrameType.PING when length != 8:
            case Http2FrameType.GOAWAY when length < 8:
            case Http2FrameType.WINDOW_UPDATE when length != 4:
            case Http2FrameType.SETTINGS when (flags & Http2FrameFlags.ACK) != 0 ? length != 0 : length % Http2Settings.EntryLength != 0:
                return ConnectionError(out error, Http2ErrorCode.FRAME_SIZE_ERROR);
            case Http2FrameType.PUSH_PROMISE when !AcceptPushPromise:
                return ConnectionError(out error, Http2ErrorCode.PROTOCOL_ERROR);
            case Http2FrameType.CONTINUATION when _continuationStreamId == 0:
                return ConnectionError(out error, Http2ErrorCode.PROTOCOL_ERROR);
        }

        if (reader.Remaining - FrameHeaderLength < length) return Http2FrameReadStatus.Incomplete;

        // Frames of fixed fields (at most 8 octets) are copied out, not sliced: building a ReadOnlySequence per PING or
        // WINDOW_UPDATE was a quarter of its cost (measured: reading a lone PING went from ~60 to ~45 ns).
        switch (type)
        {
            case Http2FrameType.PRIORITY when length != 5:
                // §6.3: a wrong length only spoils this stream.
                reader.Advance(FrameHeaderLength + length);
                return StreamError(out error, Http2ErrorCode.FRAME_SIZE_ERROR, streamId);
            case Http2FrameType.PRIORITY:
            case Http2FrameType.RST_STREAM:
            case Http2FrameType.PING:
            case Http2FrameType.WINDOW_UPDATE:
            {
                Span<byte> fields = stackalloc byte[8];
                fields = fields.Slice(0, length);
                reader.Advance(FrameHeaderLength);
                reader.TryCopyTo(fields);
                reader.Advance(length);
                return ReadFixed(type, flags, streamId, fields, out frame, out error);
            }
            case > Http2FrameType.CONTINUATION:
                reader.Advance(FrameHeaderLength + length);
                skipped = true; // §4.1: "Implementations MUST ignore and discard frames of unknown types."
                return Http2FrameReadStatus.Frame;
        }

        reader.Advance(FrameHeaderLength);
        ReadOnlySequence<byte> payload = reader.Sequence.Slice(reader.Position, length);
        reader.Advance(length);

        switch (type)
        {
            case Http2FrameType.DATA:
                return ReadPadded(type, flags, streamId, length, payload, fixedLength: 0, out frame, out error);
            case Http2FrameType.HEADERS:
            {
                int fixedLength = (flags & Http2FrameFlags.PRIORITY) != 0 ? 5 : 0;
                Http2FrameReadStatus status = ReadPadded(type, flags, streamId, length, payload, fixedLength, out frame, out error);
                if (status != Http2FrameReadStatus.Frame) return status;
                // RFC 9113 deprecates priority signals (§5.3.2): the fields are read past and not acted on, except that
                // §5.3.1 still forbids self-dependency. A connection error here, not a stream error: the field block
                // must still reach HPACK and a reset stream would desynchronise the connection's dynamic table.
                if (fixedLength != 0 && DependencyOf(payload, (flags & Http2FrameFlags.PADDED) != 0 ? 1 : 0) == streamId)
                    return ConnectionError(out error, Http2ErrorCode.PROTOCOL_ERROR);
                if ((flags & Http2FrameFlags.END_HEADERS) == 0) _continuationStreamId = streamId;
                return status;
            }
            case Http2FrameType.SETTINGS:
                return ReadSettings(flags, length, payload, out frame, out error);
            case Http2FrameType.PUSH_PROMISE:
            {
                Http2FrameReadStatus status = ReadPadded(type, flags, streamId, length, payload, fixedLength: 4, out frame, out error);
                if (status != Http2FrameReadStatus.Frame) return status;
                Span<byte> scratch = stackalloc byte[5];
                int offset = (flags & Http2FrameFlags.PADDED) != 0 ? 1 : 0;
                uint promised = BinaryPrimitives.ReadUInt32BigEndian(Prefix(payload, offset + 4, scratch).Slice(offset)) & StreamIdMask;
                // §6.6: the promised stream must be a new server-initiated (even, non-zero) identifier; anything else
                // cannot be opened.
                if (promised == 0 || (promised & 1) != 0) return ConnectionError(out error, Http2ErrorCode.PROTOCOL_ERROR);
                frame = new Http2Frame(type, flags, streamId, length, frame.Payload, field: promised);
                if ((flags & Http2FrameFlags.END_HEADERS) == 0) _continuationStreamId = streamId;
                return status;
            }
            case Http2FrameType.GOAWAY:
            {
                Span<byte> scratch = stackalloc byte[8];
                ReadOnlySpan<byte> fields = Prefix(payload, 8, scratch);
                uint lastStreamId = BinaryPrimitives.ReadUInt32BigEndian(fields) & StreamIdMask;
                var code = (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(fields.Slice(4));
                frame = new Http2Frame(type, flags, streamId, length, payload.Slice(8), lastStreamId, code);
                return Http2FrameReadStatus.Frame;
            }
            default: // CONTINUATION: the only type left
                if ((flags & Http2FrameFlags.END_HEADERS) != 0) _continuationStreamId = 0;
                frame = new Http2Frame(type, flags, streamId, length, payload);
                return Http2FrameReadStatus.Frame;
        }
    }

    /// <summary>PRIORITY, RST_STREAM, PING and WINDOW_UPDATE, whose lengths were checked before the payload arrived.</summary>
    private static Http2FrameReadStatus ReadFixed(Http2FrameType type, Http2FrameFlags flags, uint streamId, ReadOnlySpan<byte> fields,
        out Http2Frame frame, out Http2FrameError error)
    {
        frame = default;
        error = default;
        switch (type)
        {
            case Http2FrameType.PRIORITY:
                // §5.3.1: a stream cannot depend on itself.
                if ((BinaryPrimitives.ReadUInt32BigEndian(fields) & StreamIdMask) == streamId)
                    return StreamError(out error, Http2ErrorCode.PROTOCOL_ERROR, streamId);
                frame = new Http2Frame(type, flags, streamId, fields.Length, default);
                return Http2FrameReadStatus.Frame;
            case Http2FrameType.RST_STREAM:
                frame = new Http2Frame(type, flags, streamId, fields.Length, default,
                    errorCode: (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(fields));
                return Http2FrameReadStatus.Frame;
            case Http2FrameType.PING:
                frame = new Http2Frame(type, flags, streamId, fields.Length, default, opaque: BinaryPrimitives.ReadUInt64BigEndian(fields));
                return Http2FrameReadStatus.Frame;
            default: // WINDOW_UPDATE
            {
                uint increment = BinaryPrimitives.ReadUInt32BigEndian(fields) & StreamIdMask;
                // §6.9: an increment of 0 is an error on the stream it names, or on the connection for stream 0.
                if (increment == 0)
                    return streamId == 0
                        ? ConnectionError(out error, Http2ErrorCode.PROTOCOL_ERROR)
                        : StreamError(out error, Http2ErrorCode.PROTOCOL_ERROR, streamId);
                frame = new Http2Frame(type, flags, streamId, fields.Length, default, increment);
                return Http2FrameReadStatus.Frame;
            }
        }
    }

    /// <summary>
    /// DATA, HEADERS and PUSH_PROMISE: an optional Pad Length octet, <paramref name="fixedLength"/> octets of fixed
    /// fields, the content, then padding. The frame's Payload is the content alone.
    /// </summary>
    private static Http2FrameReadStatus ReadPadded(Http2FrameType type, Http2FrameFlags flags, uint streamId, int length,
        in ReadOnlySequence<byte> payload, int fixedLength, out Http2Frame frame, out Http2FrameError error)
    {
        frame = default;
        error = default;
        int padLength = 0;
        int start = fixedLength;
        if ((flags & Http2FrameFlags.PADDED) != 0)
        {
            // §4.2: too small to hold its own fields is a FRAME_SIZE_ERROR.
            if (length < 1 + fixedLength) return ConnectionError(out error, Http2ErrorCode.FRAME_SIZE_ERROR);
            Span<byte> scratch = stackalloc byte[1];
            padLength = Prefix(payload, 1, scratch)[0];
            start++;
            // §6.1, §6.2, §6.6: padding that reaches past the payload is a PROTOCOL_ERROR.
            if (padLength > length - start) return ConnectionError(out error, Http2ErrorCode.PROTOCOL_ERROR);
        }
        else if (length < fixedLength)
        {
            return ConnectionError(out error, Http2ErrorCode.FRAME_SIZE_ERROR);
        }
        frame = new Http2Frame(type, flags, streamId, length, start == 0 && padLength == 0 ? payload : payload.Slice(start, length - start - padLength));
        return Http2FrameReadStatus.Frame;
    }

    private static Http2FrameReadStatus ReadSettings(Http2FrameFlags flags, int length, in ReadOnlySequence<byte> payload,
        out Http2Frame frame, out Http2FrameError error)
    {
        frame = default;
        error = default;
        // §6.5.2: values are checked here so a SETTINGS frame handed out can be applied without failing.
        if (payload.IsSingleSegment)
        {
            for (ReadOnlySpan<byte> entries = payload.FirstSpan; entries.Length >= Http2Settings.EntryLength; entries = entries.Slice(Http2Settings.EntryLength))
            {
                Http2ErrorCode code = Http2Settings.Validate((Http2SettingsParameter)BinaryPrimitives.ReadUInt16BigEndian(entries),
                    BinaryPrimitives.ReadUInt32BigEndian(entries.Slice(2)));
                if (code != Http2ErrorCode.NO_ERROR) return ConnectionError(out error, code);
            }
        }
        else
        {
            var entries = new SequenceReader<byte>(payload);
            Span<byte> entry = stackalloc byte[Http2Settings.EntryLength];
            while (entries.TryCopyTo(entry))
            {
                entries.Advance(Http2Settings.EntryLength);
                Http2ErrorCode code = Http2Settings.Validate((Http2SettingsParameter)BinaryPrimitives.ReadUInt16BigEndian(entry),
                    BinaryPrimitives.ReadUInt32BigEndian(entry.Slice(2)));
                if (code != Http2ErrorCode.NO_ERROR) return ConnectionError(out error, code);
            }
        }
        frame = new Http2Frame(Http2FrameType.SETTINGS, flags, 0, length, payload);
        return Http2FrameReadStatus.Frame;
    }

    /// <summary>The 31-bit Stream Dependency at <paramref name="offset"/> (E bit dropped), for the §5.3.1 check.</summary>
    private static uint DependencyOf(in ReadOnlySequence<byte> payload, int offset)
    {
        Span<byte> scratch = stackalloc byte[5];
        return BinaryPrimitives.ReadUInt32BigEndian(Prefix(payload, offset + 4, scratch).Slice(offset)) & StreamIdMask;
    }

    /// <summary>The first <paramref name="count"/> octets: from the first segment when they are all there, else copied.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ReadOnlySpan<byte> Prefix(in ReadOnlySequence<byte> payload, int count, Span<byte> scratch)
    {
        ReadOnlySpan<byte> first = payload.FirstSpan;
        if (first.Length >= count) return first.Slice(0, count);
        payload.Slice(0, count).CopyTo(scratch);
        return scratch.Slice(0, count);
    }

    private static Http2FrameReadStatus ConnectionError(out Http2FrameError error, Http2ErrorCode code)
    {
        error = Http2FrameError.Connection(code);
        return Http2FrameReadStatus.ConnectionError;
    }

    private static Http2FrameReadStatus StreamError(out Http2FrameError error, Http2ErrorCode code, uint streamId)
    {
        error = Http2FrameError.Stream(code, streamId);
        return Http2FrameReadStatus.StreamError;
    }
}
