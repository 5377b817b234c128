// Builds the ReadOnlySequence<byte> shapes every codec case runs in (STYLE.md, Tests): one segment, split in two at an
// index, one byte per segment. Segments are slices of the caller's array, so even "split at every index" copies nothing.
using System.Buffers;

namespace FastPath.Core.Tests.Testing;

/// <summary>How a case's bytes are cut into segments; a parser must reach the same outcome for each.</summary>
public enum Segmentation
{
    OneSegment,
    /// <summary>Every split into two non-empty segments, index 1 to Length - 1, each run on its own.</summary>
    SplitAtEveryIndex,
    OneBytePerSegment,
}

internal static class SequenceFactory
{
    public static ReadOnlySequence<byte> OneSegment(byte[] data) => new(data);

    public static ReadOnlySequence<byte> Split(byte[] data, int index) => SegmentedInput.Create(data, [index]).All;

    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] data) => SegmentedInput.OneBytePerSegment(data).All;

    /// <summary>The inputs one mode stands for: one for whole and byte-wise, Length - 1 for every split.</summary>
    public static IEnumerable<SegmentedInput> Inputs(byte[] data, Segmentation mode)
    {
        switch (mode)
        {
            case Segmentation.OneSegment:
                yield return SegmentedInput.Create(data, []);
                break;
            case Segmentation.SplitAtEveryIndex:
                for (int i = 1; i < data.Length; i++) yield return SegmentedInput.Create(data, [i]);
                break;
            case Segmentation.OneBytePerSegment:
                yield return SegmentedInput.OneBytePerSegment(data);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(mode));
        }
    }
}

/// <summary>
/// A linked chain of segments over one array that can be read the way a PipeReader hands data out: after segment
/// <c>k</c> has "arrived", the readable bytes are those from the consumed offset to the end of segment <c>k</c>.
/// </summary>
internal sealed class SegmentedInput
{
    private readonly BufferSegment[] _segments;

    private SegmentedInput(BufferSegment[] segments, long length, string name)
    {
        _segments = segments;
        Length = length;
        Name = name;
    }

    /// <summary>How the input is cut, for assertion messages ("split at 17").</summary>
    public string Name { get; }

    public int SegmentCount => _segments.Length;

    public long Length { get; }

    public ReadOnlySequence<byte> All => Available(0, _segments.Length - 1);

    /// <summary>Cuts <paramref name="data"/> at each of the ascending <paramref name="boundaries"/>.</summary>
    public static SegmentedInput Create(byte[] data, ReadOnlySpan<int> boundaries)
    {
        var segments = new BufferSegment[boundaries.Length + 1];
        int start = 0;
        BufferSegment? last = null;
        for (int i = 0; i <= boundaries.Length; i++)
        {
            int end = i < boundaries.Length ? boundaries[i] : data.Length;
            if (end < start || end > data.Length) throw new ArgumentOutOfRangeException(nameof(boundaries));
            var memory = new ReadOnlyMemory<byte>(data, start, end - start);
            last = last is null ? new BufferSegment(memory, 0) : last.Append(memory);
            segments[i] = last;
            start = end;
        }
        string name = boundaries.Length switch
        {
            0 => "one segment",
            1 => $"split at {boundaries[0]}",
            _ when boundaries.Length == data.Length - 1 => "one byte per segment",
            _ => $"{boundaries.Length + 1} segments",
        };
        return new SegmentedInput(segments, data.Length, name);
    }

    public static SegmentedInput OneBytePerSegment(byte[] data)
    {
        if (data.Length <= 1) return Create(data, []);
        int[] boundaries = new int[data.Length - 1];
        for (int i = 0; i < boundaries.Length; i++) boundaries[i] = i + 1;
        return Create(data, boundaries);
    }

    /// <summary>Offset just past segment <paramref name="segment"/>.</summary>
    public long EndOf(int segment) => _segments[segment].RunningIndex + _segments[segment].Memory.Length;

    /// <summary>The bytes from <paramref name="consumed"/> to the end of segment <paramref name="lastSegment"/>.</summary>
    public ReadOnlySequence<byte> Available(long consumed, int lastSegment)
    {
        BufferSegment end = _segments[lastSegment];
        if (consumed < 0 || consumed > EndOf(lastSegment)) throw new ArgumentOutOfRangeException(nameof(consumed));

        // The segment holding offset `consumed`: the last one starting at or before it (binary search, O(log n), so
        // byte-per-segment runs stay linear), moved past any segment it ends.
        int lo = 0, hi = lastSegment;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (_segments[mid].RunningIndex <= consumed) lo = mid;
            else hi = mid - 1;
        }
        while (lo < lastSegment && consumed >= EndOf(lo)) lo++;
        BufferSegment start = _segments[lo];
        return new ReadOnlySequence<byte>(start, (int)(consumed - start.RunningIndex), end, end.Memory.Length);
    }

    private sealed class BufferSegment : ReadOnlySequenceSegment<byte>
    {
        public BufferSegment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public BufferSegment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new BufferSegment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
