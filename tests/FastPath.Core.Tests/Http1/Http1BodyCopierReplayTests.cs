// Http1BodyCopier with a replay buffer (a route that retries): the buffer holds exactly the bytes sent upstream,
// framing and trailers included, is marked complete once the whole body was read, and a body past the limit still
// streams whole while the buffer gives up.
using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using FastPath.Http;
using FastPath.Http1;
using FastPath.Transport;

namespace FastPath.Core.Tests.Http1;

public sealed class Http1BodyCopierReplayTests
{
    private static async Task<(BodyCopyResult Result, string Sent, BodyReplayBuffer Replay)> CopyAsync(string body, BodyFraming framing,
        long contentLength, int limit, bool completeInput = true)
    {
        var input = new Pipe();
        var output = new Pipe();
        await input.Writer.WriteAsync(Encoding.ASCII.GetBytes(body));
        if (completeInput) await input.Writer.CompleteAsync();
        var replay = new BodyReplayBuffer();
        replay.Begin(output.Writer, limit);
        var trailers = new HttpHeaderBlock();
        BodyCopyResult result = await Http1BodyCopier.CopyAsync(input.Reader, output.Writer, framing, contentLength,
            framing == BodyFraming.Chunked ? BodyFraming.Chunked : BodyFraming.ContentLength, trailers, new ReadDeadline(), 30_000,
            Http1Limits.Default, null, replay: replay);
        await output.Writer.CompleteAsync();
        ReadResult read = await output.Reader.ReadAsync();
        while (!read.IsCompleted)
        {
            output.Reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            read = await output.Reader.ReadAsync();
        }
        return (result, Encoding.ASCII.GetString(read.Buffer.ToArray()), replay);
    }

    [Fact]
    public async Task CopyAsync_ContentLength_ReplayHoldsTheBodyAndIsComplete()
    {
        (BodyCopyResult result, string sent, BodyReplayBuffer replay) = await CopyAsync("hello world", BodyFraming.ContentLength, 11, 1024);

        Assert.Equal(BodyCopyStatus.Ok, result.Status);
        Assert.Equal("hello world", sent);
        Assert.Equal(sent, Encoding.ASCII.GetString(replay.Written));
        Assert.True(replay.Replayable);
    }

    [Fact]
    public async Task CopyAsync_ChunkedWithTrailers_ReplayHoldsTheWireBytes()
    {
        (_, string sent, BodyReplayBuffer replay) = await CopyAsync("5\r\nhello\r\n0\r\nx-sum: 1\r\n\r\n", BodyFraming.Chunked, 0, 1024);

        Assert.Equal("5\r\nhello\r\n0\r\nx-sum: 1\r\n\r\n", sent);
        Assert.Equal(sent, Encoding.ASCII.GetString(replay.Written));
        Assert.True(replay.Replayable);
    }

    [Fact]
    public async Task CopyAsync_OverLimit_StreamsWholeBody_NotReplayable()
    {
        string body = new('x', 5000);
        (BodyCopyResult result, string sent, BodyReplayBuffer replay) = await CopyAsync(body, BodyFraming.ContentLength, 5000, 1000);

        Assert.Equal(BodyCopyStatus.Ok, result.Status);
        Assert.Equal(body, sent);
        Assert.True(replay.Complete);
        Assert.True(replay.Overflowed);
        Assert.False(replay.Replayable);
    }

    [Fact]
    public async Task CopyAsync_ClientEndsEarly_NotComplete()
    {
        (BodyCopyResult result, _, BodyReplayBuffer replay) = await CopyAsync("hel", BodyFraming.ContentLength, 11, 1024);

        Assert.Equal(BodyCopyStatus.InputEnded, result.Status);
        Assert.False(replay.Complete);
        Assert.False(replay.Replayable);
    }
}
