// The blocks behind the HTTP/2 streams' body pipes. ArrayPool<byte>.Shared keeps only a few dozen arrays per size
// and core, so an upstream connection with a hundred responses in flight overflows it and every response body would
// allocate a fresh 4 KB array. Here blocks (and their owner objects) are kept for reuse, process-wide, up to a bound:
// what a burst leaves behind beyond it goes to the GC.
using System.Buffers;

namespace FastPath.Http2;

internal sealed class Http2BlockPool : MemoryPool<byte>
{
    public const int BlockSize = 4096;

    public static readonly Http2BlockPool Streams = new(maxRetained: 2048); // 8 MiB at most

    private readonly Lock _lock = new();
    private readonly Block[] _free;
    private int _count;

    public Http2BlockPool(int maxRetained) => _free = new Block[maxRetained];

    public override int MaxBufferSize => BlockSize;

    /// <summary>Blocks waiting for reuse (for tests).</summary>
    public int Retained
    {
        get { lock (_lock) return _count; }
    }

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        Block? block = null;
        lock (_lock)
        {
            if (_count > 0)
            {
                block = _free[--_count];
                _free[_count] = null!;
            }
        }
        block ??= new Block(this);
        block.Rented = true;
        return block;
    }

    private void Return(Block block)
    {
        lock (_lock)
        {
            if (_count < _free.Length) _free[_count++] = block;
        }
    }

    protected override void Dispose(bool disposing)
    {
        // Process-wide; nothing to release.
    }

    private sealed class Block(Http2BlockPool pool) : IMemoryOwner<byte>
    {
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize);

        public bool Rented;

        public Memory<byte> Memory => _array;

        public void Dispose()
        {
            // Once per rent: a second Dispose must not put the block in the pool twice (two owners of one buffer).
            if (!Rented) return;
            Rented = false;
            pool.Return(this);
        }
    }
}
