// Fixed-size blocks for pipes, kept for reuse process-wide up to a bound; what a burst leaves behind beyond it goes to
// the GC. ArrayPool<byte>.Shared keeps only a few dozen arrays per size and core, so anything holding more buffers at
// once than that (an upstream HTTP/2 connection with a hundred responses in flight; a few dozen sockets mid-exchange)
// overflows it, and every further buffer is a fresh allocation.
using System.Buffers;
using System.Runtime.InteropServices;

namespace FastPath.Transport;

internal sealed class BlockPool : MemoryPool<byte>
{
    /// <summary>The HTTP/2 streams' body pipes: 4 KiB blocks, 8 MiB retained at most.</summary>
    public static readonly BlockPool Http2Streams = new(blockSize: 4096, maxRetained: 2048);

    /// <summary>The epoll transport's socket pipes: 16 KiB pinned blocks (a receive's size; a send needs no pinning
    /// handle), 64 MiB retained at most.</summary>
    public static readonly BlockPool Sockets = new(blockSize: 16 * 1024, maxRetained: 4096, pinned: true);

    private readonly Lock _lock = new();
    private readonly Block[] _free;
    private readonly bool _pinned;
    private int _count;
    private long _created;

    public BlockPool(int blockSize, int maxRetained, bool pinned = false)
    {
        BlockSize = blockSize;
        _free = new Block[maxRetained];
        _pinned = pinned;
    }

    public int BlockSize { get; }

    public override int MaxBufferSize => BlockSize;

    /// <summary>Blocks made since the process started: the pool grows to a load's peak of blocks held at once, then
    /// stops (fastpath_buffer_blocks_created_total).</summary>
    public long Created => Interlocked.Read(ref _created);

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
        if (block is null)
        {
            Interlocked.Increment(ref _created);
            block = new Block(this);
        }
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

    private sealed class Block : IMemoryOwner<byte>
    {
        private readonly BlockPool _pool;

        public bool Rented;

        public Block(BlockPool pool)
        {
            _pool = pool;
            byte[] array = GC.AllocateUninitializedArray<byte>(pool.BlockSize, pinned: pool._pinned);
            Memory = pool._pinned ? MemoryMarshal.CreateFromPinnedArray(array, 0, array.Length) : array;
        }

        public Memory<byte> Memory { get; }

        public void Dispose()
        {
            // Once per rent: a second Dispose must not put the block in the pool twice (two owners of one buffer).
            if (!Rented) return;
            Rented = false;
            _pool.Return(this);
        }
    }
}
