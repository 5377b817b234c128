// The client connection preface (RFC 9113 §3.4): 24 fixed octets before the first SETTINGS frame. Checked
// incrementally so a peer speaking HTTP/1.1 (or garbage) is refused at its first wrong byte, not after 24 arrive.
using System.Buffers;

namespace FastPath.Http2.Frames;

internal enum Http2PrefaceStatus : byte
{
    Valid = 0,
    Incomplete,
    Invalid,
}

internal static class Http2ConnectionPreface
{
    public static ReadOnlySpan<byte> ClientPreface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    public const int Length = 24;

    /// <summary>
    /// Valid: the preface was read and consumed. Incomplete: what has arrived so far matches; nothing consumed.
    /// Invalid: an octet differs (§3.4: a PROTOCOL_ERROR connection error; no GOAWAY is required).
    /// </summary>
    public static Http2PrefaceStatus TryRead(ref SequenceReader<byte> reader)
    {
        ReadOnlySpan<byte> unread = reader.UnreadSpan;
        if (unread.Length >= Length)
        {
            if (!unread.StartsWith(ClientPreface)) return Http2PrefaceStatus.Invalid;
            reader.Advance(Length);
            return Http2PrefaceStatus.Valid;
        }

        int available = (int)Math.Min(reader.Remaining, Length);
        Span<byte> copy = stackalloc byte[Length];
        copy = copy.Slice(0, available);
        reader.TryCopyTo(copy);
        if (!copy.SequenceEqual(ClientPreface.Slice(0, available))) return Http2PrefaceStatus.Invalid;
        if (available < Length) return Http2PrefaceStatus.Incomplete;
        reader.Advance(Length);
        return Http2PrefaceStatus.Valid;
    }
}
