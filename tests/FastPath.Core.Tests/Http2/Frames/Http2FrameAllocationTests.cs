// The frame layer runs per frame: reading and writing warm frames must allocate nothing (STYLE.md, Hot paths).
using System.Buffers;
using FastPath.Http2;
using FastPath.Http2.Frames;
using static FastPath.Core.Tests.Http2.Frames.FrameDriver;

namespace FastPath.Core.Tests.Http2.Frames;

public sealed class Http2FrameAllocationTests
{
    private static readonly byte[] HeaderBlock = H("82 86 84 41 8c f1 e3 c2 e5 f2 3a 6b a0 ab 90 f4 ff");
    private static readonly byte[] Body = new byte[1200];

    private static byte[] TypicalMix()
    {
        var o = new ArrayBufferWriter<byte>();
        Write(o);
        return o.WrittenSpan.ToArray();
    }

    private static void Write(IBufferWriter<byte> o)
    {
        Http2FrameWriter.WriteSettings(o, [new(Http2SettingsParameter.SETTINGS_MAX_CONCURRENT_STREAMS, 100), new(Http2SettingsParameter.SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20)]);
        Http2FrameWriter.WriteSettingsAck(o);
        Http2FrameWriter.WriteHeaders(o, 1, HeaderBlock, endStream: false, 16_384);
        Http2FrameWriter.WriteData(o, 1, Body, endStream: true, 16_384);
        Http2FrameWriter.WriteWindowUpdate(o, 0, 1200);
        Http2FrameWriter.WritePing(o, 42, ack: false);
    }

    private static int ReadAll(ReadOnlySequence<byte> data)
    {
        Http2FrameReader frames = Http2FrameReader.ForServer();
        var reader = new SequenceReader<byte>(data);
        int count = 0;
        while (frames.TryReadFrame(ref reader, out Http2Frame frame, out _) == Http2FrameReadStatus.Frame)
            count += frame.Length >= 0 ? 1 : 0;
        return count;
    }

    [Fact]
    public void Reader_WarmFrames_AllocatesNothing()
    {
        byte[] mix = TypicalMix();
        ReadOnlySequence<byte> whole = Testing.SequenceFactory.OneSegment(mix);
        ReadOnlySequence<byte> split = Testing.SequenceFactory.Split(mix, 13);           // a frame header across segments
        ReadOnlySequence<byte> bytewise = Testing.SequenceFactory.OneBytePerSegment(mix); // every field across segments
        int frames = 0;
        for (int i = 0; i < 100; i++) frames += ReadAll(whole) + ReadAll(split) + ReadAll(bytewise);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) frames += ReadAll(whole) + ReadAll(split) + ReadAll(bytewise);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(200 * 3 * 6, frames);
    }

    [Fact]
    public void Writer_WarmFrames_AllocatesNothing()
    {
        var output = new ArrayBufferWriter<byte>(8192);
        for (int i = 0; i < 100; i++) { output.ResetWrittenCount(); Write(output); }
        int written = output.WrittenCount;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            output.ResetWrittenCount();
            Write(output);
            Http2FrameWriter.WriteRstStream(output, 1, Http2ErrorCode.CANCEL);
            Http2FrameWriter.WriteGoAway(output, 1, Http2ErrorCode.NO_ERROR);
            Http2FrameWriter.WriteData(output, 1, new ReadOnlySequence<byte>(Body), endStream: false, 500);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(TypicalMix().Length, written);
    }
}
