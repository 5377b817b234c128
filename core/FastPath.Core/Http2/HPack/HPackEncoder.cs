// HPACK encoder (RFC 7541) for one HTTP/2 connection's send direction: static and dynamic table matches, incremental
// indexing of reusable fields, never-indexed literals for credentials (§7.1.3), Huffman when not longer, and the §6.3
// size updates a peer's SETTINGS_HEADER_TABLE_SIZE change requires. Nothing is allocated per block.
using System.Buffers;

namespace FastPath.Http2.HPack;

/// <summary>How a field is represented (RFC 7541 §6.2); Automatic lets the encoder decide.</summary>
internal enum HPackIndexing : byte
{
    Automatic = 0,
    IncrementalIndexing,
    WithoutIndexing,
    NeverIndexed,
}

internal sealed class HPackEncoder
{
    private readonly HPackDynamicTable _table;
    private readonly bool _useHuffman;
    private int _peerMaxTableSize;
    private bool _sizeUpdatePending;
    private int _smallestPendingSize;

    /// <param name="peerMaxTableSize">The peer's SETTINGS_HEADER_TABLE_SIZE both sides start from (4096 in HTTP/2).</param>
    /// <param name="tableSizeCap">Most memory this encoder will spend on its table, whatever the peer allows.</param>
    /// <param name="useHuffman">Huffman-encode strings when that is not longer (§5.2).</param>
    public HPackEncoder(int peerMaxTableSize = HPackDecoder.DefaultHeaderTableSize, int tableSizeCap = HPackDecoder.DefaultHeaderTableSize, bool useHuffman = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(peerMaxTableSize);
        _table = new HPackDynamicTable(tableSizeCap);
        _useHuffman = useHuffman;
        _peerMaxTableSize = peerMaxTableSize;
        int size = Math.Min(peerMaxTableSize, tableSizeCap);
        _table.SetMaxSize(size);
        // Using less than the peer's table requires telling its decoder (§4.2).
        _sizeUpdatePending = size != peerMaxTableSize;
        _smallestPendingSize = size;
    }

    internal HPackDynamicTable DynamicTable => _table;

    /// <summary>The peer changed SETTINGS_HEADER_TABLE_SIZE; the next block starts with the size update(s) (§4.2).</summary>
    public void SetPeerMaxTableSize(int peerMaxTableSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(peerMaxTableSize);
        _peerMaxTableSize = peerMaxTableSize;
        int size = Math.Min(peerMaxTableSize, _table.Capacity);
        if (!_sizeUpdatePending)
        {
            if (size == _table.MaxSize) return;
            _smallestPendingSize = size;
            _sizeUpdatePending = true;
        }
        _smallestPendingSize = Math.Min(_smallestPendingSize, size);
    }

    /// <summary>Upper bound of the octets one field can take, for sizing a destination.</summary>
    public static int GetMaxEncodedLength(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => name.Length + value.Length + 16;

    /// <summary>Starts a header block: writes pending table size updates (at most 12 octets).</summary>
    public bool TryBeginBlock(Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        if (!_sizeUpdatePending) return true;
        if (destination.Length < 12) return false;
        int final = Math.Min(_peerMaxTableSize, _table.Capacity);
        // A reduction followed by a growth between two blocks needs both updates so the peer evicts too (§4.2).
        if (_smallestPendingSize < final)
        {
            bytesWritten += HPackInteger.Encode(_smallestPendingSize, 5, 0x20, destination);
            _table.SetMaxSize(_smallestPendingSize);
        }
        bytesWritten += HPackInteger.Encode(final, 5, 0x20, destination[bytesWritten..]);
        _table.SetMaxSize(final);
        _sizeUpdatePending = false;
        return true;
    }

    public void BeginBlock(IBufferWriter<byte> writer)
    {
        if (!_sizeUpdatePending) return;
        bool ok = TryBeginBlock(writer.GetSpan(12), out int written);
        System.Diagnostics.Debug.Assert(ok);
        writer.Advance(written);
    }

    public void Encode(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, IBufferWriter<byte> writer, HPackIndexing indexing = HPackIndexing.Automatic)
    {
        bool ok = TryEncode(name, value, indexing, writer.GetSpan(GetMaxEncodedLength(name, value)), out int written);
        System.Diagnostics.Debug.Assert(ok);
        writer.Advance(written);
    }

    /// <summary>
    /// :status (RFC 9113 §8.3.2), as <see cref="Encode"/> would write it: the seven codes of the static table are one
    /// octet, found without a table search; others go the general way.
    /// </summary>
    public void EncodeStatus(int code, IBufferWriter<byte> writer)
    {
        int index = code switch { 200 => 8, 204 => 9, 206 => 10, 304 => 11, 400 => 12, 404 => 13, 500 => 14, _ => 0 };
        if (index != 0)
        {
            writer.GetSpan(1)[0] = (byte)(0x80 | index);
            writer.Advance(1);
            return;
        }
        Span<byte> status = stackalloc byte[3];
        status[0] = (byte)('0' + (code / 100 % 10));
        status[1] = (byte)('0' + (code / 10 % 10));
        status[2] = (byte)('0' + (code % 10));
        Encode(":status"u8, status, writer);
    }

    /// <summary>
    /// content-length, as <see cref="Encode"/> would write it with Automatic indexing: a literal without indexing
    /// (the value changes from message to message, so it never enters the table) on the static name, index 28.
    /// </summary>
    public void EncodeContentLength(long length, IBufferWriter<byte> writer)
    {
        Span<byte> digits = stackalloc byte[20];
        System.Buffers.Text.Utf8Formatter.TryFormat(length, digits, out int count);
        Span<byte> destination = writer.GetSpan(2 + 1 + 20);
        int pos = HPackInteger.Encode(ContentLengthIndex, 4, 0x00, destination);
        bool ok = TryWriteString(digits[..count], destination[pos..], out int written);
        System.Diagnostics.Debug.Assert(ok);
        writer.Advance(pos + written);
    }

    private const int ContentLengthIndex = 28;

    /// <summary>
    /// Encodes one field (name in lower case, RFC 9113 §8.2.1). Returns false, changing nothing, when
    /// <paramref name="destination"/> is too small; GetMaxEncodedLength octets always suffice.
    /// </summary>
    public bool TryEncode(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, HPackIndexing indexing, Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        if (indexing == HPackIndexing.Automatic && IsSensitive(name)) indexing = HPackIndexing.NeverIndexed;

        int staticIndex = HPackStaticTable.Find(name, value, out int nameIndex);
        if (indexing != HPackIndexing.NeverIndexed)
        {
            if (staticIndex != 0) return TryWriteIndexed(staticIndex, destination, out bytesWritten);
            int dynamicIndex = _table.Find(name, value, out int dynamicNameMatch);
            if (dynamicIndex >= 0) return TryWriteIndexed(HPackStaticTable.Count + 1 + dynamicIndex, destination, out bytesWritten);
            if (nameIndex == 0 && dynamicNameMatch >= 0) nameIndex = HPackStaticTable.Count + 1 + dynamicNameMatch;
        }
        else if (nameIndex == 0)
        {
            _table.Find(name, ReadOnlySpan<byte>.Empty, out int dynamicNameMatch);
            if (dynamicNameMatch >= 0) nameIndex = HPackStaticTable.Count + 1 + dynamicNameMatch;
        }

        if (indexing == HPackIndexing.Automatic)
        {
            indexing = IsWorthIndexing(name, value) ? HPackIndexing.IncrementalIndexing : HPackIndexing.WithoutIndexing;
        }

        byte flags;
        int prefixBits;
        switch (indexing)
        {
            case HPackIndexing.IncrementalIndexing: flags = 0x40; prefixBits = 6; break;
            case HPackIndexing.NeverIndexed: flags = 0x10; prefixBits = 4; break;
            default: flags = 0x00; prefixBits = 4; break;
        }

        int pos = 0;
        if (destination.Length < HPackInteger.GetEncodedLength(nameIndex, prefixBits)) return false;
        pos += HPackInteger.Encode(nameIndex, prefixBits, flags, destination);
        if (nameIndex == 0)
        {
            if (!TryWriteString(name, destination[pos..], out int n)) return false;
            pos += n;
        }
        if (!TryWriteString(value, destination[pos..], out int v)) return false;
        pos += v;

        if (indexing == HPackIndexing.IncrementalIndexing) _table.Insert(name, value);
        bytesWritten = pos;
        return true;
    }

    private static bool TryWriteIndexed(int index, Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        if (destination.Length < HPackInteger.GetEncodedLength(index, 7)) return false;
        bytesWritten = HPackInteger.Encode(index, 7, 0x80, destination);
        return true;
    }

    private bool TryWriteString(ReadOnlySpan<byte> s, Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        if (_useHuffman)
        {
            // Huffman at equal length too, as the RFC's examples do (C.6.2 "307").
            int huffmanLength = HPackHuffman.GetEncodedLength(s);
            if (huffmanLength <= s.Length && s.Length > 0)
            {
                int prefix = HPackInteger.GetEncodedLength(huffmanLength, 7);
                if (destination.Length < prefix + huffmanLength) return false;
                HPackInteger.Encode(huffmanLength, 7, 0x80, destination);
                bytesWritten = prefix + HPackHuffman.Encode(s, destination[prefix..]);
                return true;
            }
        }
        int rawPrefix = HPackInteger.GetEncodedLength(s.Length, 7);
        if (destination.Length < rawPrefix + s.Length) return false;
        HPackInteger.Encode(s.Length, 7, 0x00, destination);
        s.CopyTo(destination[rawPrefix..]);
        bytesWritten = rawPrefix + s.Length;
        return true;
    }

    /// <summary>Credentials whose compression would let an attacker probe them through the table (§7.1.3).</summary>
    private static bool IsSensitive(ReadOnlySpan<byte> name) =>
        name.SequenceEqual("authorization"u8) || name.SequenceEqual("cookie"u8) ||
        name.SequenceEqual("set-cookie"u8) || name.SequenceEqual("proxy-authorization"u8);

    /// <summary>
    /// Fields that change on nearly every message only churn the table, and an entry taking most of the table would
    /// evict everything useful.
    /// </summary>
    private bool IsWorthIndexing(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if ((name.Length + value.Length + HPackDynamicTable.EntryOverhead) * 4 > _table.MaxSize * 3) return false;
        return !(name.SequenceEqual(":path"u8) || name.SequenceEqual("content-length"u8) ||
                 name.SequenceEqual("content-range"u8) || name.SequenceEqual("etag"u8) ||
                 name.SequenceEqual("if-none-match"u8) || name.SequenceEqual("if-modified-since"u8) ||
                 name.SequenceEqual("last-modified"u8) || name.SequenceEqual("x-request-id"u8));
    }
}
