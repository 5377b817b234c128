// The replay buffer tees what the body copier writes upstream: everything reaches the pipe, a copy is kept while it
// fits the limit, and past it the copy is dropped (the request is no longer retriable) while the stream goes on.
using System.Buffers;
using System.IO.Pipelines;
using FastPath.Http;

namespace FastPath.Core.Tests.Http;

public sealed class BodyReplayBufferTests
{
    private static async Task<byte[]> ReadAllAsync(Pipe pipe)
    {
        await pipe.Writer.CompleteAsync();
        var output = new MemoryStream();
        await pipe.Reader.CopyToAsync(output);
        return output.ToArray();
    }

    [Fact]
    public async Task Write_UnderLimit_PipeAndCopyMatch()
    {
        var pipe = new Pipe();
        var buffer = new BodyReplayBuffer();
        buffer.Begin(pipe.Writer, limitBytes: 100_000);
        byte[] data = Enumerable.Range(0, 70_000).Select(i => (byte)i).ToArray();
        for (int at = 0; at < data.Length; at += 7000) buffer.Write(data.AsSpan(at, 7000));

        Assert.False(buffer.Overflowed);
        Assert.Equal(data, buffer.Written.ToArray());
        Assert.Equal(data, await ReadAllAsync(pipe));
    }

    [Fact]
    public async Task Write_OverLimit_OverflowedAndCopyDropped_PipeGetsEverything()
    {
        var pipe = new Pipe();
        var buffer = new BodyReplayBuffer();
        buffer.Begin(pipe.Writer, limitBytes: 1000);
        buffer.Write(new byte[600]);
        Assert.False(buffer.Overflowed);
        buffer.Write(new byte[600]);
        Assert.True(buffer.Overflowed);
        Assert.True(buffer.Written.IsEmpty);
        buffer.Write(new byte[10]);
        Assert.True(buffer.Written.IsEmpty);
        Assert.Equal(1210, (await ReadAllAsync(pipe)).Length);
    }

    [Fact]
    public void Reset_ClearsOverflowAndCopy()
    {
        var pipe = new Pipe();
        var buffer = new BodyReplayBuffer();
        buffer.Begin(pipe.Writer, limitBytes: 4);
        buffer.Write("hello"u8);
        Assert.True(buffer.Overflowed);
        buffer.Reset();
        Assert.False(buffer.Overflowed);
        buffer.Begin(pipe.Writer, limitBytes: 10);
        buffer.Write("hi"u8);
        Assert.Equal("hi"u8.ToArray(), buffer.Written.ToArray());
    }
}
