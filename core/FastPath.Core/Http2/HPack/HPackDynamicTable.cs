// The dynamic table (RFC 7541 §2.3.2, §4): entries in a ring, their octets in one pre-allocated array, so
// inserting and evicting allocate nothing. Shared by the decoder and the encoder, which must evict identically.
namespace FastPath.Http2.HPack;

internal sealed class HPackDynamicTable
{
    /// <summary>Per-entry overhead of the §4.1 size accounting.</summary>
    public const int EntryOverhead = 32;

    private readonly struct EntryRef(int offset, int nameLength, int valueLength)
    {
        public readonly int Offset = offset;
        public readonly int NameLength = nameLength;
        public readonly int ValueLength = valueLength;
    }

    // Live octets are always contiguous in [_dataStart, _dataEnd). The array is twice the capacity: when an entry
    // does not fit at the end, the live octets (at most capacity - entry) move to the front — amortised O(1).
    private readonly byte[] _data;
    private readonly EntryRef[] _entries;
    private int _oldest;
    private int _count;
    private int _dataStart;
    private int _dataEnd;

    public HPackDynamicTable(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        Capacity = capacity;
        MaxSize = capacity;
        _data = new byte[2 * capacity];
        _entries = new EntryRef[capacity / EntryOverhead + 1];
    }

    /// <summary>The largest maximum size this table can take (its pre-allocated memory).</summary>
    public int Capacity { get; }

    /// <summary>Current maximum size, set by a dynamic table size update (§6.3).</summary>
    public int MaxSize { get; private set; }

    /// <summary>Sum of name + value + 32 over the entries (§4.1).</summary>
    public int Size { get; private set; }

    public int Count => _count;

    /// <summary>Entry <paramref name="i"/>, 0 being the newest (HPACK index 62).</summary>
    public void Get(int i, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        int slot = _oldest + _count - 1 - i;
        if (slot >= _entries.Length) slot -= _entries.Length;
        EntryRef e = _entries[slot];
        name = new ReadOnlySpan<byte>(_data, e.Offset, e.NameLength);
        value = new ReadOnlySpan<byte>(_data, e.Offset + e.NameLength, e.ValueLength);
    }

    /// <summary>Newest-first index of the entry equal to name and value (-1 if none), and of the first with that name.</summary>
    public int Find(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, out int nameMatch)
    {
        nameMatch = -1;
        EntryRef[] entries = _entries;
        byte[] data = _data;
        int slot = _oldest + _count - 1;
        if (slot >= entries.Length) slot -= entries.Length;
        for (int i = 0; i < _count; i++)
        {
            EntryRef e = entries[slot];
            slot = slot == 0 ? entries.Length - 1 : slot - 1;
            // Lengths first: most entries differ in name length, so no span is compared for them.
            if (e.NameLength != name.Length || !name.SequenceEqual(new ReadOnlySpan<byte>(data, e.Offset, e.NameLength))) continue;
            if (nameMatch < 0) nameMatch = i;
            if (e.ValueLength == value.Length && value.SequenceEqual(new ReadOnlySpan<byte>(data, e.Offset + e.NameLength, e.ValueLength))) return i;
        }
        return -1;
    }

    /// <summary>Sets the maximum size, evicting oldest entries until the table fits (§4.3). Must not exceed Capacity.</summary>
    public void SetMaxSize(int maxSize)
    {
        MaxSize = maxSize;
        while (Size > maxSize) EvictOldest();
    }

    /// <summary>
    /// Adds an entry as the newest (§4.4): evicts until it fits; an entry larger than the maximum size empties the
    /// table and is not added. The spans must not point into this table.
    /// </summary>
    public void Insert(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        int entrySize = name.Length + value.Length + EntryOverhead;
        if (entrySize > MaxSize)
        {
            Clear();
            return;
        }
        while (Size + entrySize > MaxSize) EvictOldest();

        int length = name.Length + value.Length;
        if (_dataEnd + length > _data.Length) Compact();
        int offset = _dataEnd;
        name.CopyTo(_data.AsSpan(offset));
        value.CopyTo(_data.AsSpan(offset + name.Length));
        _dataEnd = offset + length;

        int slot = _oldest + _count;
        if (slot >= _entries.Length) slot -= _entries.Length;
        _entries[slot] = new EntryRef(offset, name.Length, value.Length);
        _count++;
        Size += entrySize;
    }

    public void Clear()
    {
        _count = 0;
        _oldest = 0;
        _dataStart = 0;
        _dataEnd = 0;
        Size = 0;
    }

    private void EvictOldest()
    {
        EntryRef e = _entries[_oldest];
        Size -= e.NameLength + e.ValueLength + EntryOverhead;
        _count--;
        if (_count == 0)
        {
            _oldest = 0;
            _dataStart = 0;
            _dataEnd = 0;
            return;
        }
        _dataStart = e.Offset + e.NameLength + e.ValueLength;
        _oldest = _oldest + 1 == _entries.Length ? 0 : _oldest + 1;
    }

    private void Compact()
    {
        int shift = _dataStart;
        Buffer.BlockCopy(_data, shift, _data, 0, _dataEnd - shift);
        for (int i = 0, slot = _oldest; i < _count; i++)
        {
            EntryRef e = _entries[slot];
            _entries[slot] = new EntryRef(e.Offset - shift, e.NameLength, e.ValueLength);
            slot = slot + 1 == _entries.Length ? 0 : slot + 1;
        }
        _dataStart = 0;
        _dataEnd -= shift;
    }
}
