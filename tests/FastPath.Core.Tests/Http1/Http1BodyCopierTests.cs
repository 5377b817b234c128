// Http1BodyCopier.CopyAsync between real System.IO.Pipelines pipes: exact bytes out, pipelined bytes left unread,
// re-chunking with trailers, and the failure statuses. The ReadDeadline is only a field holder here (no Heartbeat).
using System.Buffers;
using System.IO.Pipelines;
using FastPath.Core.Tests.Testing;
using FastPath.Http;
using FastPath.Http1;
using FastPath.Transport;

namespace FastPath.Core.Tests.Http1;

public class Http1BodyCopierTests
{
    private const long IdleTimeoutMs = 30_000;

    public static TheoryData<string> ValidChunkedCaseNames() => new(ChunkedBodyCases.Valid.Select(c => c.Name));

    public static TheoryData<string> InvalidChunkedCaseNames() => new(ChunkedBodyCases.Invalid.Select(c => c.Name));

    [Fact]
    public async Task CopyAsync_ContentLength_CopiesExactlyAndLeavesPipelinedBytesUnread()
    {
        Pipe input = await FilledPipe("hello worldGET /next HTTP/1.1\r\n", complete: false);
        var output = new Pipe();

        BodyCopyResult result = await Copy(input.Reader, output.Writer, BodyFraming.ContentLength, 11, BodyFraming.ContentLength);

        Assert.Equal(new BodyCopyResult(BodyCopyStatus.Ok, 11), result);
        Assert.Equal("hello world", await ReadAll(output));
        Assert.True(input.Reader.TryRead(out ReadResult rest));
        Assert.Equal("GET /next HTTP/1.1\r\n", Bytes.Text(rest.Buffer.ToArray()));
    }

    [Fact]
    public async Task CopyAsync_ContentLengthToChunked_WritesChunksAndLastChunk()
    {
        Pipe input = await FilledPipe("hello", complete: false);
        var output = new Pipe();

        BodyCopyResult result = await Copy(input.Reader, output.Writer, BodyFraming.ContentLength, 5, BodyFraming.Chunked);

        Assert.Equal(BodyCopyStatus.Ok, result.Status);
        Assert.Equal("5\r\nhello\r\n0\r\n\r\n", await ReadAll(output));
    }

    [Fact]
    public async Task CopyAsync_ContentLengthArrivingInPieces_CopiesAll()
    {
        var input = new Pipe();
        var output = new Pipe();
        byte[] body = new byte[100_000];
        new Random(42).NextBytes(body);

        Task<BodyCopyResult> copy = Copy(input.Reader, output.Writer, BodyFraming.ContentLength, body.Length, BodyFraming.ContentLength);
        Task<byte[]> drained = DrainAsync(output.Reader);
        for (int at = 0; at < body.Length; at += 7_919)
        {
            await input.Writer.WriteAsync(body.AsMemory(at, Math.Min(7_919, body.Length - at)));
        }
        BodyCopyResult result = await copy;
        await output.Writer.CompleteAsync();

        Assert.Equal(new BodyCopyResult(BodyCopyStatus.Ok, body.Length), result);
        Assert.Equal(body, await drained);
    }

    [Fact]
    public async Task CopyAsync_ChunkedToChunkedWithTrailers_ReChunksAndKeepsTrailers()
    {
        Pipe input = await FilledPipe(
            "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\nContent-Length: 99\r\n\r\nNEXT", complete: false);
        var output = new Pipe();
        var trailers = new HttpHeaderBlock();

        BodyCopyResult result = await Copy(input.Reader, output.Writer, BodyFraming.Chunked, -1, BodyFraming.Chunked, trailers);

        Assert.Equal(new BodyCopyResult(BodyCopyStatus.Ok, 11), result);
        // Extensions are dropped and sizes re-written in lowercase hex; framing fields in trailers are not forwarded.
        Assert.Equal("5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n", await ReadAll(output));
        Assert.Equal("X-Checksum: abc [None]\nContent-Length: 99 [ContentLength, skip]\n", HeadParseDriver.DescribeFields(trailers));
        Assert.True(input.Reader.TryRead(out ReadResult rest));
        Assert.Equal("NEXT", Bytes.Text(rest.Buffer.ToArray()));
    }

    [Fact]
    public async Task CopyAsync_ChunkedToChunkedWithoutTrailerBlock_DropsTrailers()
    {
        Pipe input = await FilledPipe("3\r\nabc\r\n0\r\nX-Checksum: abc\r\n\r\n", complete: true);
        var output = new Pipe();

        BodyCopyResult result = await Copy(input.Reader, output.Writer, BodyFraming.Chunked, -1, BodyFraming.Chunked);

        Assert.Equal(BodyCopyStatus.Ok, result.Status);
        Assert.Equal("3\r\nabc\r\n0\r\n\r\n", await ReadAll(output));
    }

    [Fact]
    public async Task CopyAsync_ChunkedToRawForHttp10Client_WritesDecodedBytesOnly()
    {
        Pipe input = await FilledPipe("5\r\nhello\r\n6;x\r\n world\r\n0\r\nX-T: 1\r\n\r\n", complete: false);
        var output = new Pipe();

        BodyCopyResult result = await Copy(input.Reader, output.Writer, BodyFraming.Chunked, -1, BodyFraming.UntilClose, new HttpHeaderBlock());

        Assert.Equal(new BodyCopyResult(BodyCopyStatus.Ok, 11), result);
        Assert.Equal("hello world", await ReadAll(output));
    }

    [Theory]
    [MemberData(nameof(ValidChunkedCaseNames))]
    public async Task CopyAsync_ChunkedArrivingByteByByte_DecodesCaseData(string name)
    {
        ValidChunkedCase c = ChunkedBodyCases.Valid.Single(x => x.Name == name);
        byte[] bytes = Bytes.Of(c.Input);
        var input = new Pipe();
        var output = new Pipe();
        var trailers = new HttpHeaderBlock();

        Task<BodyCopyResult> copy = Copy(input.Reader, output.Writer, BodyFraming.Chunked, -1, BodyFraming.UntilClose, trailers);
        for (int i = 0; i < bytes.Length; i++)
        {
            await input.Writer.WriteAsync(bytes.AsMemory(i, 1));
        }
        BodyCopyResult result = await copy;

        Assert.Equal(new BodyCopyResult(BodyCopyStatus.Ok, c.Data.Length), result);
        Assert.Equal(c.Data, await ReadAll(output));
        Assert.Equal(c.Trailers, HeadParseDriver.DescribeFields(trailers));
    }

    [Fact]
    public async Task CopyAsync_UntilCloseToChunked_ChunksUntilInputCompletes()
    {
        Pipe input = await FilledPipe("streamed", complete: true);
        var output = new Pipe();

        BodyCopyResult result = await Copy(input.Reader, output.Writer, BodyFraming.UntilClose, -1, BodyFraming.Chunked);

        Assert.Equal(new BodyCopyResult(BodyCopyStatus.Ok, 8), result);
        Assert.Equal("8\r\nstreamed\r\n0\r\n\r\n", await ReadAll(output));
    }

    [Fact]
    public async Task CopyAsync_NoBodyToChunked_WritesOnlyLastChunk()
    {
        var input = new Pipe();
        var output = new Pipe();

        BodyCopyResult result = await Copy(input.Reader, output.Writer, BodyFraming.None, -1, BodyFraming.Chunked);

        Assert.Equal(new BodyCopyResult(BodyCopyStatus.Ok, 0), result);
        Assert.Equal("0\r\n\r\n", await ReadAll(output));
    }

    [Fact]
    public async Task CopyAsync_ContentLengthInputEndsEarly_InputEnded()
    {
        Pipe input = await FilledPipe("hello", complete: true);
        var output = new Pipe();

        BodyCopyResult result = await Copy(input.Reader, output.Writer, BodyFraming.ContentLength, 10, BodyFraming.ContentLength);

        Assert.Equal(new BodyCopyResult(BodyCopyStatus.InputEnded, 5), result);
    }

    [Fact]
    public async Task CopyAsync_ChunkedInputEndsEarly_InputEnded()
    {
        Pipe input = await FilledPipe("5\r\nhello\r\n6\r\n wo", complete: true);
        var output = new Pipe();

        BodyCopyResult result = await Copy(input.Reader, output.Writer, BodyFraming.Chunked, -1, BodyFraming.Chunked);

        Assert.Equal(new BodyCopyResult(BodyCopyStatus.InputEnded, 8), result);
    }

    [Fact]
    public async Task CopyAsync_ChunkedInputEndsInTrailers_InputEnded()
    {
        Pipe input = await FilledPipe("5\r\nhello\r\n0\r\nX-A: 1\r\n", complete: true);
        var output = new Pipe();

        BodyCopyResult result = await Copy(input.Reader, output.Writer, BodyFraming.Chunked, -1, BodyFraming.Chunked, new HttpHeaderBlock());

        Assert.Equal(BodyCopyStatus.InputEnded, result.Status);
    }

    [Fact]
    public async Task CopyAsync_InputFaulted_InputEnded()
    {
        Pipe input = await FilledPipe("hel", complete: false);
        await input.Writer.CompleteAsync(new IOException("connection reset"));
        var output = new Pipe();

        BodyCopyResult result = await Copy(input.Reader, output.Writer, BodyFraming.ContentLength, 10, BodyFraming.ContentLength);

        Assert.Equal(BodyCopyStatus.InputEnded, result.Status);
    }

    [Theory]
    [MemberData(nameof(InvalidChunkedCaseNames))]
    public async Task CopyAsync_InvalidChunkedInput_InputInvalidWithReason(string name)
    {
        InvalidChunkedCase c = ChunkedBodyCases.Invalid.Single(x => x.Name == name);
        Pipe input = await FilledPipe(c.Input, complete: false);
        var output = new Pipe();

        BodyCopyResult result = await Copy(input.Reader, output.Writer, BodyFraming.Chunked, -1, BodyFraming.Chunked, new HttpHeaderBlock());

        Assert.Equal(BodyCopyStatus.InputInvalid, result.Status);
        Assert.Equal(c.Reason, result.Reason);
    }

    [Fact]
    public async Task CopyAsync_OutputReaderGone_OutputFailed()
    {
        Pipe input = await FilledPipe("hello", complete: false);
        var output = new Pipe();
        await output.Reader.CompleteAsync();

        BodyCopyResult result = await Copy(input.Reader, output.Writer, BodyFraming.ContentLength, 5, BodyFraming.ContentLength);

        Assert.Equal(BodyCopyStatus.OutputFailed, result.Status);
    }

    [Fact]
    public async Task CopyAsync_PendingReadCancelled_TimedOut()
    {
        var input = new Pipe();
        var output = new Pipe();
        var deadline = new ReadDeadline();

        Task<BodyCopyResult> copy = Http1BodyCopier.CopyAsync(input.Reader, output.Writer, BodyFraming.ContentLength, 5,
            BodyFraming.ContentLength, null, deadline, IdleTimeoutMs, Http1Limits.Default);
        deadline.Fire(); // what the Heartbeat does when the idle deadline passes

        BodyCopyResult result = await copy;

        Assert.Equal(BodyCopyStatus.TimedOut, result.Status);
        Assert.False(deadline.IsArmed);
    }

    private static Task<BodyCopyResult> Copy(PipeReader input, PipeWriter output, BodyFraming inFraming, long contentLength,
        BodyFraming outFraming, HttpHeaderBlock? trailers = null) =>
        Http1BodyCopier.CopyAsync(input, output, inFraming, contentLength, outFraming, trailers, new ReadDeadline(), IdleTimeoutMs,
            Http1Limits.Default);

    private static async Task<Pipe> FilledPipe(string content, bool complete)
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Bytes.Of(content));
        if (complete) await pipe.Writer.CompleteAsync();
        return pipe;
    }

    /// <summary>Completes the output writer (the copier never does) and returns everything written to it.</summary>
    private static async Task<string> ReadAll(Pipe output)
    {
        await output.Writer.CompleteAsync();
        return Bytes.Text(await DrainAsync(output.Reader));
    }

    private static async Task<byte[]> DrainAsync(PipeReader reader)
    {
        var all = new ArrayBufferWriter<byte>();
        while (true)
        {
            ReadResult read = await reader.ReadAsync();
            foreach (ReadOnlyMemory<byte> m in read.Buffer) all.Write(m.Span);
            reader.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted) break;
        }
        await reader.CompleteAsync();
        return all.WrittenSpan.ToArray();
    }
}
