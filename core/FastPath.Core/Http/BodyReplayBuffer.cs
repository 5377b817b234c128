// Keeps a copy of the request body bytes sent upstream, up to a limit, so a retry can send the same body again
// (Envoy buffers up to per_request_buffer_limit_bytes for the same reason). It sits between the body copier and the
// upstream pipe as an IBufferWriter: whatever is written passes through to the pipe and, while it fits, into a
// pooled array. Past the limit the copy is dropped and the request is no longer retriable; the stream goes on.
using System.Buffers;
using System.IO.Pipelines;

namespace FastPath.Http;

internal sealed class BodyReplayBuffer : IBufferWriter<byte>
{
    private const int InitialBytes = 4096;

    private PipeWriter? _target;
    private Memory<byte> _last;
    private byte[]? _buffer;
    private int _length;
    private int _limit;

    /// <summary>True once the body outgrew the limit: what was kept is gone and cannot be replayed.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>
    /// The whole body has been read from the client and written through (set before the last flush completes: an
    /// origin may answer as soon as the bytes arrive, before the copier sees its flush finish).
    /// </summary>
    public bool Complete { get; private set; }

    /// <summary>Whether a retry can send the body again: all of it read, and all of it kept.</summary>
    public bool Replayable => Complete && !Overflowed;

    public void MarkComplete() => Complete = true;

    /// <summary>The bytes kept so far, exactly as written upstream (outgoing framing included).</summary>
    public ReadOnlySpan<byte> Written => _buffer is null ? default : _buffer.AsSpan(0, _length);

    /// <summary>As <see cref="Written"/>, for an asynchronous write (an HTTP/2 stream's DATA).</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer is null ? default : _buffer.AsMemory(0, _length);

    public void Begin(PipeWriter target, int limitBytes)
    {
        Reset();
        _target = target;
        _limit = limitBytes;
    }

    /// <summary>Keeps copies without passing anything through: the body goes upstream by another way (HTTP/2 DATA)
    /// and its unframed bytes are handed to <see cref="Record"/>.</summary>
    public void BeginRecording(int limitBytes)
    {
        Reset();
        _target = null;
        _limit = limitBytes;
    }

    /// <summary>Keeps bytes sent upstream by the caller itself (recording mode).</summary>
    public void Record(ReadOnlySpan<byte> bytes)
    {
        if (!Overflowed) Keep(bytes);
    }

    public Memory<byte> GetMemory(int sizeHint = 0) => _last = _target!.GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public void Advance(int count)
    {
        if (!Overflowed) Keep(_last.Span[..count]);
        _last = default;
        _target!.Advance(count);
    }

    private void Keep(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return;
        int needed = _length + bytes.Length;
        if (needed > _limit)
        {
            Overflowed = true;
            ReturnBuffer();
            return;
        }
        if (_buffer is null || needed > _buffer.Length)
        {
            byte[] grown = ArrayPool<byte>.Shared.Rent(Math.Min(_limit, Math.Max(needed, Math.Max(InitialBytes, (_buffer?.Length ?? 0) * 2))));
            if (_buffer is not null)
            {
                _buffer.AsSpan(0, _length).CopyTo(grown);
                ArrayPool<byte>.Shared.Return(_buffer);
            }
            _buffer = grown;
        }
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length = needed;
    }

    private void ReturnBuffer()
    {
        if (_buffer is not null) ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = null;
        _length = 0;
    }

    /// <summary>Gives the array back to the pool; the exchange keeps no buffer between requests.</summary>
    public void Reset()
    {
        ReturnBuffer();
        _target = null;
        _last = default;
        _limit = 0;
        Overflowed = false;
        Complete = false;
    }
}
