// One HTTP/2 stream round trip through the connection engine on a keep-alive connection: the client's HEADERS in,
// the handler called, HEADERS + DATA out, read back to END_STREAM - over in-memory pipes, so what is measured is
// the engine (frame dispatch, HPACK both ways, stream pooling, the output loop), not a socket.
// Category ZeroAlloc: the CI gate fails if a steady-state stream allocates.
using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using FastPath.Http;
using FastPath.Http2;
using FastPath.Http2.Frames;
using FastPath.Http2.HPack;

namespace FastPath.Benchmarks.Http2;

[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
public class Http2StreamBenchmarks
{
    private readonly Pipe _toServer = new();
    private readonly Pipe _toClient = new();
    private Http2Connection _connection = null!;
    private Task _run = Task.CompletedTask;
    private byte[] _requestBlock = [];
    private Http2FrameReader _frames = Http2FrameReader.ForClient(enablePush: false);
    private uint _streamId = 1;

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    /// <summary>Answers every request 200 with a 5-octet body; one stream at a time here, so one head is reused.</summary>
    private sealed class Handler : IHttp2StreamHandler
    {
        private static readonly byte[] Body = "hello"u8.ToArray();
        private readonly HttpResponseHead _head = new();

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
        public async ValueTask ProcessStreamAsync(Http2Stream stream)
        {
            _head.Reset();
            _head.StatusCode = 200;
            _head.Headers.Append("content-type"u8, "text/plain"u8);
            await stream.WriteHeadersAsync(_head, endStream: false).ConfigureAwait(false);
            await stream.WriteDataAsync(Body, endStream: true).ConfigureAwait(false);
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        _connection = new Http2Connection(new Duplex(_toServer.Reader, _toClient.Writer), new Handler());
        _run = _connection.RunAsync();
        PipeWriter send = _toServer.Writer;
        send.Write(Http2ConnectionPreface.ClientPreface);
        Http2FrameWriter.WriteSettings(send, []);
        Http2FrameWriter.WriteSettingsAck(send);
        Http2FrameWriter.WriteWindowUpdate(send, 0, int.MaxValue - 65_535);
        send.FlushAsync().AsTask().GetAwaiter().GetResult();

        var block = new ArrayBufferWriter<byte>();
        var encoder = new HPackEncoder();
        encoder.Encode(":method"u8, "GET"u8, block);
        encoder.Encode(":scheme"u8, "http"u8, block);
        encoder.Encode(":path"u8, "/hello"u8, block, HPackIndexing.WithoutIndexing);
        encoder.Encode(":authority"u8, "bench.local"u8, block, HPackIndexing.WithoutIndexing);
        encoder.Encode("user-agent"u8, "h2load"u8, block, HPackIndexing.WithoutIndexing);
        _requestBlock = block.WrittenSpan.ToArray();
        for (int i = 0; i < 1000; i++) StreamRoundTrip().AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _toServer.Writer.Complete();
        _run.GetAwaiter().GetResult();
    }

    [Benchmark]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask StreamRoundTrip()
    {
        // Client stream ids run out after 2^30 streams; a benchmark run stays far below.
        uint id = _streamId += 2;
        PipeWriter send = _toServer.Writer;
        Http2FrameWriter.WriteHeaders(send, id, _requestBlock, endStream: true, 16_384);
        await send.FlushAsync().ConfigureAwait(false);
        PipeReader receive = _toClient.Reader;
        while (true)
        {
            ReadResult result = await receive.ReadAsync().ConfigureAwait(false);
            bool done = ReadUntilEnd(result.Buffer, id, out SequencePosition consumed);
            receive.AdvanceTo(consumed, result.Buffer.End);
            if (done) return;
            if (result.IsCompleted) throw new InvalidOperationException("the connection closed");
        }
    }

    private bool ReadUntilEnd(in ReadOnlySequence<byte> buffer, uint id, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        bool done = false;
        while (!done && _frames.TryReadFrame(ref reader, out Http2Frame frame, out _) == Http2FrameReadStatus.Frame)
            done = frame.StreamId == id && frame.EndStream;
        consumed = reader.Position;
        return done;
    }
}
