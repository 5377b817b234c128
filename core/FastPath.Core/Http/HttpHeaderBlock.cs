// A message's header fields as offsets into one byte store: parsing copies each field once, forwarding writes the
// same bytes back out, and no string is made for a header on the proxy path.
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace FastPath.Http;

internal struct HeaderEntry
{
    public int NameStart;
    public int NameLength;
    public int ValueStart;
    public int ValueLength;
    public KnownHeader Id;
    /// <summary>Set when the field must not be forwarded (hop-by-hop, named by Connection, replaced by the proxy).</summary>
    public bool Skip;
}

internal sealed class HttpHeaderBlock
{
    private const int InitialBytes = 2048;
    private const int InitialEntries = 32;
    // Colon and optional whitespace between a parsed name and its value.
    private const int MaxJoinedGap = 16;

    private byte[] _bytes = [];
    private int _used;
    private HeaderEntry[] _entries = [];
    private int _count;

    public int Count => _count;

    /// <summary>Bytes of header names and values held, for the caller's size accounting.</summary>
    public int BytesUsed => _used;

    public ref HeaderEntry this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((uint)index >= (uint)_count) ThrowHelper.ThrowArgumentOutOfRange();
            return ref _entries[index];
        }
    }

    public ReadOnlySpan<byte> Name(in HeaderEntry e) => _bytes.AsSpan(e.NameStart, e.NameLength);

    public ReadOnlySpan<byte> Value(in HeaderEntry e) => _bytes.AsSpan(e.ValueStart, e.ValueLength);

    public ReadOnlySpan<byte> Slice(int start, int length) => _bytes.AsSpan(start, length);

    /// <summary>Stored bytes to rewrite in place (path normalisation shortens the request target where it lies).</summary>
    public Span<byte> WritableSlice(int start, int length) => _bytes.AsSpan(start, length);

    /// <summary>Copies bytes into the store and returns their offset (used for request-line parts too).</summary>
    public int Store(ReadOnlySpan<byte> bytes)
    {
        EnsureBytes(bytes.Length);
        int at = _used;
        bytes.CopyTo(_bytes.AsSpan(at));
        _used += bytes.Length;
        return at;
    }

    public ref HeaderEntry Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, KnownHeader id)
    {
        ref HeaderEntry e = ref NextEntry(name.Length, value.Length, id);
        e.NameStart = Store(name);
        e.ValueStart = Store(value);
        return ref e;
    }

    /// <summary>
    /// Adds a field the parser cut from one line: <paramref name="name"/> and <paramref name="value"/> must be slices
    /// of the same buffer ("name: value"), so the line is copied once instead of twice.
    /// </summary>
    public ref HeaderEntry AddParsed(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, KnownHeader id)
    {
        nint gap = Unsafe.ByteOffset(ref MemoryMarshal.GetReference(name), ref MemoryMarshal.GetReference(value));
        if (gap < name.Length || gap > name.Length + MaxJoinedGap) return ref Add(name, value, id);
        ref HeaderEntry e = ref NextEntry(name.Length, value.Length, id);
        e.NameStart = Store(MemoryMarshal.CreateReadOnlySpan(ref MemoryMarshal.GetReference(name), (int)gap + value.Length));
        e.ValueStart = e.NameStart + (int)gap;
        return ref e;
    }

    private ref HeaderEntry NextEntry(int nameLength, int valueLength, KnownHeader id)
    {
        if (_count == _entries.Length) GrowEntries();
        ref HeaderEntry e = ref _entries[_count++];
        e.NameLength = nameLength;
        e.ValueLength = valueLength;
        e.Id = id;
        e.Skip = false;
        return ref e;
    }

    public int IndexOf(KnownHeader id)
    {
        for (int i = 0; i < _count; i++) if (_entries[i].Id == id) return i;
        return -1;
    }

    public void SkipAll(KnownHeader id)
    {
        for (int i = 0; i < _count; i++) if (_entries[i].Id == id) _entries[i].Skip = true;
    }

    /// <summary>Marks every field whose name equals <paramref name="name"/> (case-insensitively) as not forwarded.</summary>
    public void SkipByName(ReadOnlySpan<byte> name)
    {
        for (int i = 0; i < _count; i++)
        {
            ref HeaderEntry e = ref _entries[i];
            if (e.NameLength == name.Length && Ascii.EqualsIgnoreCase(Name(e), name)) e.Skip = true;
        }
    }

    /// <summary>The first forwarded field named <paramref name="name"/> (case-insensitively), or -1.</summary>
    public int IndexOfName(ReadOnlySpan<byte> name)
    {
        for (int i = 0; i < _count; i++)
        {
            ref HeaderEntry e = ref _entries[i];
            if (!e.Skip && e.NameLength == name.Length && Ascii.EqualsIgnoreCase(Name(e), name)) return i;
        }
        return -1;
    }

    /// <summary>Removes every field named <paramref name="name"/>: marked not forwarded, bytes kept (no copy).</summary>
    public void Remove(ReadOnlySpan<byte> name) => SkipByName(name);

    /// <summary>Appends a field, keeping any of the same name (Istio Headers "add").</summary>
    public void Append(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => Add(name, value, KnownHeaders.Lookup(name));

    /// <summary>Replaces every field of that name with one field (Istio Headers "set").</summary>
    public void Set(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        SkipByName(name);
        Add(name, value, KnownHeaders.Lookup(name));
    }

    /// <summary>Forgets the fields; the buffers stay with this block (it lives in a bounded pool, not on a connection).</summary>
    public void Clear()
    {
        _used = 0;
        _count = 0;
    }

    /// <summary>Gives the buffers back when the block is dropped from its pool.</summary>
    public void Release()
    {
        if (_bytes.Length > 0) ArrayPool<byte>.Shared.Return(_bytes);
        if (_entries.Length > 0) ArrayPool<HeaderEntry>.Shared.Return(_entries);
        _bytes = [];
        _entries = [];
        Clear();
    }

    private void EnsureBytes(int more)
    {
        if (_bytes.Length - _used >= more) return;
        int size = Math.Max(InitialBytes, Math.Max(_bytes.Length * 2, _used + more));
        byte[] next = ArrayPool<byte>.Shared.Rent(size);
        _bytes.AsSpan(0, _used).CopyTo(next);
        if (_bytes.Length > 0) ArrayPool<byte>.Shared.Return(_bytes);
        _bytes = next;
    }

    private void GrowEntries()
    {
        int size = Math.Max(InitialEntries, _entries.Length * 2);
        HeaderEntry[] next = ArrayPool<HeaderEntry>.Shared.Rent(size);
        _entries.AsSpan(0, _count).CopyTo(next);
        if (_entries.Length > 0) ArrayPool<HeaderEntry>.Shared.Return(_entries);
        _entries = next;
    }
}
