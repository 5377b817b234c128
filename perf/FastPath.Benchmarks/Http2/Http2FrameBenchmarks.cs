// HTTP/2 frame layer costs: read and write a typical mix of frames from one buffer - SETTINGS, HEADERS, DATA,
// WINDOW_UPDATE, PING - as a server sees early in a connection. Category ZeroAlloc: the CI gate fails if any allocates.
using System.Buffers;
using BenchmarkDotNet.Attributes;
using FastPath.Http2;
using FastPath.Http2.Frames;

namespace FastPath.Benchmarks.Http2;

[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
public class Http2FrameBenchmarks
{
    // An HPACK-encoded GET request's field block (~40 B): the frame layer only carries it.
    private static readonly byte[] FieldBlock = Convert.FromHexString(
        "828684418cf1e3c2e5f23a6ba0ab90f4ff7a88254a4a84d3416ba553032a2f2a" + "50ffbf07c31a2e3d");
    private static readonly byte[] Body = new byte[1024];

    private static readonly Http2Setting[] Settings =
    [
        new(Http2SettingsParameter.SETTINGS_MAX_CONCURRENT_STREAMS, 100),
        new(Http2SettingsParameter.SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20),
        new(Http2SettingsParameter.SETTINGS_MAX_HEADER_LIST_SIZE, 65_536),
    ];

    private readonly ArrayBufferWriter<byte> _writer = new(4096);
    private ReadOnlySequence<byte> _mix;

    [GlobalSetup]
    public void Setup()
    {
        WriteTypicalMix();
        _mix = new ReadOnlySequence<byte>(_writer.WrittenSpan.ToArray());
        if (ReadTypicalMix() != 8) throw new InvalidOperationException("the mix must read as 8 frames");
    }

    /// <summary>Reads 8 frames: SETTINGS, SETTINGS ACK, HEADERS, DATA x2, WINDOW_UPDATE x2, PING.</summary>
    [Benchmark]
    public int ReadTypicalMix()
    {
        Http2FrameReader frames = Http2FrameReader.ForServer();
        var reader = new SequenceReader<byte>(_mix);
        int count = 0;
        while (frames.TryReadFrame(ref reader, out Http2Frame frame, out _) == Http2FrameReadStatus.Frame)
            count += (int)(frame.StreamId & 0) + 1;
        return count;
    }

    [Benchmark]
    public int WriteTypicalMix()
    {
        _writer.ResetWrittenCount();
        Http2FrameWriter.WriteSettings(_writer, Settings);
        Http2FrameWriter.WriteSettingsAck(_writer);
        Http2FrameWriter.WriteHeaders(_writer, 1, FieldBlock, endStream: false, 16_384);
        Http2FrameWriter.WriteData(_writer, 1, Body, endStream: false, 16_384);
        Http2FrameWriter.WriteData(_writer, 1, Body, endStream: true, 16_384);
        Http2FrameWriter.WriteWindowUpdate(_writer, 0, 2048);
        Http2FrameWriter.WriteWindowUpdate(_writer, 1, 2048);
        Http2FrameWriter.WritePing(_writer, 0x1122334455667788, ack: false);
        return _writer.WrittenCount;
    }
}
