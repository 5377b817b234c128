// HPACK decoder (RFC 7541) for one HTTP/2 connection's receive direction. A header block may arrive over several
// fragments (HEADERS + CONTINUATION): a field cut by a fragment boundary is copied to a bounded pending buffer and
// completed from the next fragment. Nothing is allocated per block; bad input is an HPackError, never an exception.
using System.Buffers;
using System.Runtime.CompilerServices;

namespace FastPath.Http2.HPack;

internal sealed class HPackDecoder
{
    public const int DefaultHeaderTableSize = 4096;
    public const int DefaultMaxHeaderListSize = 32 * 1024;
    public const int DefaultMaxStringLength = 16 * 1024;
    /// <summary>The hard bound on a decoded list, as a multiple of the limit (Kestrel allows 2x while decoding).</summary>
    public const int HardLimitFactor = 2;

    private readonly HPackDynamicTable _table;
    private readonly int _maxHeaderListSize;
    private readonly int _hardHeaderListSize;
    private readonly int _maxStringLength;
    // Huffman output, and a copy of a name the insertion may move. These and _pending start small and grow (doubling,
    // up to their bound) the first time a field needs more, so a connection that never sees a large field never holds
    // the buffers a 16 KiB or 128 KiB string would need: its decoder costs ~1 KB, not 4x the string bound.
    private byte[] _nameScratch;
    private byte[] _valueScratch;
    // Holds the start of a field cut by a fragment boundary: at most one field representation, whose strings are
    // each bounded by _maxStringLength, plus its prefix octets.
    private byte[] _pending;
    private readonly int _maxPending;
    private int _pendingLength;
    private const int InitialScratch = 256;
    private bool _fieldSeen;
    private int _headerListSize;
    // The block passed the limit: the rest is still decoded (the table stays in step) but no longer emitted.
    private bool _overLimit;

    /// <param name="maxHeaderTableSize">The SETTINGS_HEADER_TABLE_SIZE this endpoint advertises: the limit for §6.3 updates.</param>
    /// <param name="maxHeaderListSize">SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2): past it a block is decoded to its
    /// end without emitting more fields and ends with HeaderListTooLarge; past HardLimitFactor times it, decoding stops
    /// with HeaderListOverHardLimit.</param>
    /// <param name="maxStringLength">Longest string literal accepted, on the wire and decoded.</param>
    public HPackDecoder(int maxHeaderTableSize = DefaultHeaderTableSize, int maxHeaderListSize = DefaultMaxHeaderListSize, int maxStringLength = DefaultMaxStringLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxHeaderListSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxStringLength);
        _table = new HPackDynamicTable(maxHeaderTableSize);
        _maxHeaderListSize = maxHeaderListSize;
        _hardHeaderListSize = (int)Math.Min((long)HardLimitFactor * maxHeaderListSize, int.MaxValue);
        _maxStringLength = maxStringLength;
        _nameScratch = new byte[Math.Min(InitialScratch, maxStringLength)];
        _valueScratch = new byte[Math.Min(InitialScratch, maxStringLength)];
        _maxPending = (int)Math.Min(2L * maxStringLength + 32, int.MaxValue);
        _pending = new byte[Math.Min(InitialScratch, _maxPending)];
    }

    internal HPackDynamicTable DynamicTable => _table;

    /// <summary>
    /// Decodes one fragment of a header block. Pass <paramref name="endHeaders"/> with the last fragment (END_HEADERS).
    /// After an error the compression context is unusable and the connection must end (RFC 9113 §4.3).
    /// </summary>
    public HPackError Decode<THandler>(ReadOnlySpan<byte> fragment, bool endHeaders, ref THandler handler)
        where THandler : struct, IHPackHeaderHandler
    {
        HPackError error = HPackError.None;
        if (_pendingLength > 0)
        {
            error = ResumePending(ref fragment, ref handler);
            if (error != HPackError.None) return Fail(error);
        }
        if (_pendingLength == 0)
        {
            int position = 0;
            while (position < fragment.Length)
            {
                error = TryDecodeField(fragment, ref position, ref handler);
                if (error == HPackError.None) continue;
                if (error != IncompleteField) return Fail(error);
                if (fragment.Length - position > _maxPending) return Fail(HPackError.StringTooLong);
                Grow(ref _pending, fragment.Length - position, _maxPending, keep: 0);
                fragment[position..].CopyTo(_pending);
                _pendingLength = fragment.Length - position;
                break;
            }
        }
        if (endHeaders)
        {
            if (_pendingLength > 0) return Fail(HPackError.IncompleteHeaderBlock);
            bool overLimit = _overLimit;
            EndBlock();
            // Decoded whole, so the table is in step: the caller may answer the stream alone (RFC 9113 §10.5.1).
            if (overLimit) return HPackError.HeaderListTooLarge;
        }
        return HPackError.None;
    }

    /// <summary>Decodes a whole header block whose fragments are the sequence's segments.</summary>
    public HPackError Decode<THandler>(in ReadOnlySequence<byte> block, ref THandler handler)
        where THandler : struct, IHPackHeaderHandler
    {
        if (block.IsSingleSegment) return Decode(block.FirstSpan, endHeaders: true, ref handler);
        foreach (ReadOnlyMemory<byte> segment in block)
        {
            HPackError error = Decode(segment.Span, endHeaders: false, ref handler);
            if (error != HPackError.None) return error;
        }
        return Decode(ReadOnlySpan<byte>.Empty, endHeaders: true, ref handler);
    }

    // Internal marker, never returned: the field continues in the next fragment.
    private const HPackError IncompleteField = (HPackError)255;

    private HPackError ResumePending<THandler>(ref ReadOnlySpan<byte> fragment, ref THandler handler)
        where THandler : struct, IHPackHeaderHandler
    {
        int old = _pendingLength;
        int take = Math.Min(fragment.Length, _maxPending - old);
        Grow(ref _pending, old + take, _maxPending, keep: old);
        fragment[..take].CopyTo(_pending.AsSpan(old));
        int position = 0;
        HPackError error = TryDecodeField(new ReadOnlySpan<byte>(_pending, 0, old + take), ref position, ref handler);
        if (error == IncompleteField)
        {
            // Cannot happen for a field within the limits: TryDecodeField rejects oversized strings first.
            if (take < fragment.Length) return HPackError.StringTooLong;
            _pendingLength = old + take;
            fragment = default;
            return HPackError.None;
        }
        if (error != HPackError.None) return error;
        _pendingLength = 0;
        fragment = fragment[(position - old)..];
        return HPackError.None;
    }

    private HPackError Fail(HPackError error)
    {
        EndBlock();
        return error;
    }

    private void EndBlock()
    {
        _pendingLength = 0;
        _fieldSeen = false;
        _headerListSize = 0;
        _overLimit = false;
    }

    /// <summary>
    /// Decodes one representation at <paramref name="position"/>. Its extent is checked before anything is decoded or
    /// emitted, so an incomplete field costs O(1) and leaves no side effects (it is retried whole).
    /// </summary>
    private HPackError TryDecodeField<THandler>(ReadOnlySpan<byte> src, ref int position, ref THandler handler)
        where THandler : struct, IHPackHeaderHandler
    {
        int pos = position;
        byte first = src[pos];
        int index;
        if ((first & 0x80) != 0)
        {
            // §6.1 Indexed Header Field.
            HPackInteger.Status s = HPackInteger.TryDecode(src, ref pos, 7, out index);
            if (s != HPackInteger.Status.Done) return s == HPackInteger.Status.Incomplete ? IncompleteField : HPackError.IntegerOverflow;
            if (!TryGetIndexed(index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)) return HPackError.InvalidIndex;
            HPackError e = Emit(name, value, neverIndexed: false, ref handler);
            if (e == HPackError.None) position = pos;
            return e;
        }
        if ((first & 0xE0) == 0x20)
        {
            // §6.3 Dynamic Table Size Update: only before the first field of a block (§4.2).
            HPackInteger.Status s = HPackInteger.TryDecode(src, ref pos, 5, out int size);
            if (s != HPackInteger.Status.Done) return s == HPackInteger.Status.Incomplete ? IncompleteField : HPackError.IntegerOverflow;
            if (_fieldSeen) return HPackError.TableSizeUpdateNotAtBlockStart;
            if (size > _table.Capacity) return HPackError.TableSizeUpdateTooLarge;
            _table.SetMaxSize(size);
            position = pos;
            return HPackError.None;
        }

        // §6.2 Literal Header Field: with incremental indexing (01, 6-bit index), without indexing (0000) or never
        // indexed (0001), both with a 4-bit index.
        bool incremental = (first & 0xC0) == 0x40;
        bool neverIndexed = (first & 0xF0) == 0x10;
        HPackInteger.Status status = HPackInteger.TryDecode(src, ref pos, incremental ? 6 : 4, out index);
        if (status != HPackInteger.Status.Done) return status == HPackInteger.Status.Incomplete ? IncompleteField : HPackError.IntegerOverflow;

        int nameStart = 0, nameLength = 0;
        bool nameHuffman = false;
        if (index == 0)
        {
            HPackError e = TryScanString(src, ref pos, out nameStart, out nameLength, out nameHuffman);
            if (e != HPackError.None) return e;
        }
        HPackError ev = TryScanString(src, ref pos, out int valueStart, out int valueLength, out bool valueHuffman);
        if (ev != HPackError.None) return ev;

        // The whole representation is in src: decode it.
        ReadOnlySpan<byte> fieldName;
        if (index == 0)
        {
            HPackError e = ReadString(src.Slice(nameStart, nameLength), nameHuffman, ref _nameScratch, _maxStringLength, out fieldName);
            if (e != HPackError.None) return e;
        }
        else
        {
            if (!TryGetIndexed(index, out fieldName, out _)) return HPackError.InvalidIndex;
            if (incremental && index > HPackStaticTable.Count)
            {
                // The insertion below may evict or move the entry this name lives in.
                Grow(ref _nameScratch, fieldName.Length, Math.Max(fieldName.Length, _maxStringLength), keep: 0);
                fieldName.CopyTo(_nameScratch);
                fieldName = new ReadOnlySpan<byte>(_nameScratch, 0, fieldName.Length);
            }
        }
        HPackError err = ReadString(src.Slice(valueStart, valueLength), valueHuffman, ref _valueScratch, _maxStringLength, out ReadOnlySpan<byte> fieldValue);
        if (err != HPackError.None) return err;

        err = Emit(fieldName, fieldValue, neverIndexed, ref handler);
        if (err != HPackError.None) return err;
        if (incremental) _table.Insert(fieldName, fieldValue);
        position = pos;
        return HPackError.None;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private HPackError Emit<THandler>(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed, ref THandler handler)
        where THandler : struct, IHPackHeaderHandler
    {
        // HPACK bomb defence: a few octets can reference a large entry many times, so the limit applies to the
        // decoded list, field by field, before the handler sees the field. Past the limit nothing more is emitted
        // (or stored); past the hard bound decoding stops, as the work per wire octet is then unbounded.
        _fieldSeen = true;
        long size = (long)_headerListSize + name.Length + value.Length + HPackDynamicTable.EntryOverhead;
        if (size > _hardHeaderListSize) return HPackError.HeaderListOverHardLimit;
        _headerListSize = (int)size;
        if (size > _maxHeaderListSize) _overLimit = true;
        if (!_overLimit) handler.OnHeader(name, value, neverIndexed);
        return HPackError.None;
    }

    private HPackError TryScanString(ReadOnlySpan<byte> src, ref int pos, out int start, out int length, out bool huffman)
    {
        start = 0;
        length = 0;
        huffman = false;
        if (pos >= src.Length) return IncompleteField;
        huffman = (src[pos] & 0x80) != 0;
        HPackInteger.Status s = HPackInteger.TryDecode(src, ref pos, 7, out length);
        if (s != HPackInteger.Status.Done) return s == HPackInteger.Status.Incomplete ? IncompleteField : HPackError.IntegerOverflow;
        // Checked before waiting for the octets, so a declared length can never make the decoder buffer more.
        if (length > _maxStringLength) return HPackError.StringTooLong;
        if (src.Length - pos < length) return IncompleteField;
        start = pos;
        pos += length;
        return HPackError.None;
    }

    /// <summary>Makes <paramref name="buffer"/> hold at least <paramref name="length"/> octets (doubling, never past
    /// <paramref name="max"/>, which is at least <paramref name="length"/>), keeping its first <paramref name="keep"/>.</summary>
    private static void Grow(ref byte[] buffer, int length, int max, int keep)
    {
        if (length <= buffer.Length) return;
        byte[] grown = new byte[(int)Math.Min(Math.Max(length, 2L * buffer.Length), max)];
        buffer.AsSpan(0, keep).CopyTo(grown);
        buffer = grown;
    }

    private static HPackError ReadString(ReadOnlySpan<byte> raw, bool huffman, ref byte[] scratch, int maxLength, out ReadOnlySpan<byte> result)
    {
        if (!huffman)
        {
            result = raw;
            return HPackError.None;
        }
        // The shortest Huffman code is 5 bits: the decoded string is at most 8/5 of its octets (and never past maxLength).
        Grow(ref scratch, (int)Math.Min((raw.Length * 8L + 4) / 5, maxLength), maxLength, keep: 0);
        HPackError e = HPackHuffman.Decode(raw, scratch, out int written);
        result = new ReadOnlySpan<byte>(scratch, 0, written);
        return e;
    }

    private bool TryGetIndexed(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        if ((uint)(index - 1) < HPackStaticTable.Count)
        {
            ref readonly HPackStaticTable.Entry e = ref HPackStaticTable.Get(index);
            name = e.Name;
            value = e.Value;
            return true;
        }
        int dynamicIndex = index - HPackStaticTable.Count - 1;
        if (index > 0 && (uint)dynamicIndex < (uint)_table.Count)
        {
            _table.Get(dynamicIndex, out name, out value);
            return true;
        }
        name = default;
        value = default;
        return false;
    }
}
