// Drives Http2FrameReader the way a connection's PipeReader loop would: after each segment arrives the reader sees every
// unconsumed byte, reads frames until Incomplete, and the reader's position is what gets consumed. The outcome is a
// transcript (one line per frame or error) compared across one segment, every split and one byte per segment.
using System.Buffers;
using System.Text;
using FastPath.Core.Tests.Testing;
using FastPath.Http2;
using FastPath.Http2.Frames;

namespace FastPath.Core.Tests.Http2.Frames;

internal static class FrameDriver
{
    /// <summary>Wire bytes from hex, spaces allowed: <c>H("00 00 04 08 00 00 00 00 01")</c>.</summary>
    public static byte[] H(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    /// <summary>A frame whose Length field is its payload's length.</summary>
    public static byte[] F(int type, int flags, uint streamId, string payloadHex = "") =>
        FL(-1, type, flags, streamId, payloadHex);

    /// <summary>A frame whose Length field says <paramref name="length"/> (or the payload's length when -1).</summary>
    public static byte[] FL(int length, int type, int flags, uint streamId, string payloadHex)
    {
        byte[] payload = H(payloadHex);
        if (length < 0) length = payload.Length;
        byte[] frame = new byte[9 + payload.Length];
        frame[0] = (byte)(length >> 16);
        frame[1] = (byte)(length >> 8);
        frame[2] = (byte)length;
        frame[3] = (byte)type;
        frame[4] = (byte)flags;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), streamId);
        payload.CopyTo(frame, 9);
        return frame;
    }

    public static byte[] Cat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    public static string Read(SegmentedInput input, Http2FrameReader frames)
    {
        var sb = new StringBuilder();
        long consumed = 0;
        for (int k = 0; k < input.SegmentCount; k++)
        {
            var reader = new SequenceReader<byte>(input.Available(consumed, k));
            while (true)
            {
                Http2FrameReadStatus status = frames.TryReadFrame(ref reader, out Http2Frame frame, out Http2FrameError error);
                if (status == Http2FrameReadStatus.Incomplete) break;
                if (status == Http2FrameReadStatus.ConnectionError)
                {
                    Assert.Equal(0u, error.StreamId);
                    return sb.Append("ConnectionError ").Append(error.Code).ToString();
                }
                if (status == Http2FrameReadStatus.StreamError)
                    sb.Append("StreamError ").Append(error.Code).Append(" s=").Append(error.StreamId).Append('\n');
                else
                    sb.Append(Describe(frame)).Append('\n');
            }
            consumed += reader.Consumed;
        }
        return sb.Append("end consumed=").Append(consumed).ToString();
    }

    public static string Describe(in Http2Frame f)
    {
        var sb = new StringBuilder();
        sb.Append(f.Type).Append(" s=").Append(f.StreamId).Append(" f=0x").Append(((byte)f.Flags).ToString("x2", System.Globalization.CultureInfo.InvariantCulture))
          .Append(" len=").Append(f.Length);
        switch (f.Type)
        {
            case Http2FrameType.RST_STREAM: sb.Append(" code=").Append(f.ErrorCode); break;
            case Http2FrameType.GOAWAY: sb.Append(" last=").Append(f.LastStreamId).Append(" code=").Append(f.ErrorCode); break;
            case Http2FrameType.PUSH_PROMISE: sb.Append(" promised=").Append(f.PromisedStreamId); break;
            case Http2FrameType.WINDOW_UPDATE: sb.Append(" inc=").Append(f.WindowSizeIncrement); break;
            case Http2FrameType.PING: sb.Append(" opaque=0x").Append(f.OpaqueData.ToString("x16", System.Globalization.CultureInfo.InvariantCulture)); break;
        }
        if (f.Payload.Length > 64)
        {
            // Long payloads (size-limit cases) as length and a checksum, so splitting them at every index stays cheap.
            long sum = 0;
            foreach (ReadOnlyMemory<byte> m in f.Payload) foreach (byte b in m.Span) sum = (sum * 31) + b;
            sb.Append(" payload=").Append(f.Payload.Length).Append("B#").Append(sum);
        }
        else if (!f.Payload.IsEmpty) sb.Append(" payload=").Append(Convert.ToHexStringLower(f.Payload.ToArray()));
        return sb.ToString();
    }

    /// <summary>Reads <paramref name="data"/> as one segment, split at every index and one byte per segment; all must match.</summary>
    public static void AssertReads(byte[] data, string expected, Http2FrameReader? frames = null)
    {
        Http2FrameReader initial = frames ?? Http2FrameReader.ForServer();
        foreach (Segmentation mode in Enum.GetValues<Segmentation>())
        {
            string? mismatch = CaseRunner.FirstMismatch(data, mode, () => 0, (input, _) =>
            {
                string actual = Read(input, initial);
                return actual == expected ? null : $"{input.Name}:\nexpected:\n{expected}\nactual:\n{actual}";
            });
            Assert.True(mismatch is null, mismatch);
        }
    }

    /// <summary>Writes with <paramref name="write"/>, then reads the bytes back every way.</summary>
    public static void AssertRoundTrip(Action<ArrayBufferWriter<byte>> write, string expected, Http2FrameReader? frames = null)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        AssertReads(output.WrittenSpan.ToArray(), expected, frames);
    }

    public static Http2FrameReader Client(bool enablePush) => Http2FrameReader.ForClient(enablePush);

    public static Http2FrameReader WithMaxFrameSize(uint size) => Http2FrameReader.ForServer(size);

    public static Http2ErrorCode NoError => Http2ErrorCode.NO_ERROR;
}
