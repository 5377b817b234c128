// Per-stream allocation of a keep-alive HTTP/2 connection in steady state: the whole round trip (HEADERS in,
// handler, HEADERS + DATA out) over in-memory pipes - the same engine code path as a socket, without the
// transport's own buffers. Runs alone (no parallel tests) because it counts every thread's allocations.
using System.Buffers;
using System.IO.Pipelines;
using FastPath.Http2;
using FastPath.Http2.Frames;

namespace FastPath.Core.Tests.Http2.Connection;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Http2AllocationCollection
{
    public const string Name = "Http2 allocation";
}

[Collection(Http2AllocationCollection.Name)]
public sealed class Http2StreamAllocationTests
{
    internal sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    [Fact]
    public Task KeepAliveConnection_GetRoundTrip_SteadyState_AllocatesNothingPerStream() => AssertNoAllocationPerStreamAsync("/size/5", body: null);

    [Fact]
    public Task KeepAliveConnection_PostEchoRoundTrip_SteadyState_AllocatesNothingPerStream() => AssertNoAllocationPerStreamAsync("/echo", "hello"u8.ToArray());

    private static async Task AssertNoAllocationPerStreamAsync(string path, byte[]? body)
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        var connection = new Http2Connection(new Duplex(toServer.Reader, toClient.Writer), new Http2EchoHandler());
        Task run = connection.RunAsync();

        PipeWriter send = toServer.Writer;
        send.Write(Http2ConnectionPreface.ClientPreface);
        Http2FrameWriter.WriteSettings(send, []);
        Http2FrameWriter.WriteSettingsAck(send);
        Http2FrameWriter.WriteWindowUpdate(send, 0, 1 << 30);
        await send.FlushAsync();
        // GET /size/5, HPACK literals without indexing: the same octets serve every stream.
        byte[] block = GetBlock(path, body is null ? "GET" : "POST");

        Http2FrameReader frames = Http2FrameReader.ForClient(enablePush: false);
        uint id = 1;
        for (int i = 0; i < 3000; i++) await RoundTripAsync(send, toClient.Reader, block, body, id += 2, frames);

        // The fewest bytes of three rounds: the counter is process-wide, and a straggler of another test class (a
        // connection still closing) may allocate during one round; a per-stream allocation shows in all three.
        const int Streams = 2000;
        long allocated = long.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < Streams; i++) await RoundTripAsync(send, toClient.Reader, block, body, id += 2, frames);
            allocated = Math.Min(allocated, GC.GetTotalAllocatedBytes(precise: true) - before);
        }

        await send.CompleteAsync();
        await run;
        double perStream = (double)allocated / Streams;
        // The smallest object is 24 B: one allocation per stream would read as 24 or more.
        Assert.True(perStream < 8, $"{perStream:F1} B per stream ({allocated} B over {Streams} streams, the fewest of 3 rounds)");
    }

    // Pooled like the engine's own async methods, so the test's driver does not allocate per stream either.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask RoundTripAsync(PipeWriter send, PipeReader receive, byte[] block, byte[]? body, uint streamId, Http2FrameReader frames)
    {
        Http2FrameWriter.WriteHeaders(send, streamId, block, endStream: body is null, 16_384);
        if (body is not null) Http2FrameWriter.WriteData(send, streamId, body, endStream: true, 16_384);
        await send.FlushAsync();
        while (true)
        {
            ReadResult result = await receive.ReadAsync();
            bool done = ReadUntilEnd(result.Buffer, streamId, ref frames, out SequencePosition consumed);
            receive.AdvanceTo(consumed, result.Buffer.End);
            if (done) return;
            if (result.IsCompleted) throw new InvalidOperationException("server closed");
        }
    }

    private static bool ReadUntilEnd(ReadOnlySequence<byte> buffer, uint streamId, ref Http2FrameReader frames, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        bool done = false;
        while (!done && frames.TryReadFrame(ref reader, out Http2Frame frame, out _) == Http2FrameReadStatus.Frame)
            done = frame.StreamId == streamId && frame.EndStream;
        consumed = reader.Position;
        return done;
    }

    private static byte[] GetBlock(string path, string method)
    {
        var w = new ArrayBufferWriter<byte>();
        var encoder = new FastPath.Http2.HPack.HPackEncoder();
        foreach ((string n, string v) in method == "GET" ? Http2RawClient.Get(path) : Http2RawClient.Post(path))
            encoder.Encode(System.Text.Encoding.ASCII.GetBytes(n), System.Text.Encoding.ASCII.GetBytes(v), w, FastPath.Http2.HPack.HPackIndexing.WithoutIndexing);
        return w.WrittenSpan.ToArray();
    }
}
