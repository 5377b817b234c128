// RFC 9113 §3.4: the client connection preface, checked incrementally.
using System.Buffers;
using FastPath.Core.Tests.Testing;
using FastPath.Http2.Frames;

namespace FastPath.Core.Tests.Http2.Frames;

public sealed class Section3_4_ConnectionPreface
{
    private static string ReadPreface(SegmentedInput input)
    {
        for (int k = 0; k < input.SegmentCount; k++)
        {
            var reader = new SequenceReader<byte>(input.Available(0, k));
            Http2PrefaceStatus status = Http2ConnectionPreface.TryRead(ref reader);
            if (status == Http2PrefaceStatus.Valid) return "Valid consumed=" + reader.Consumed;
            if (status == Http2PrefaceStatus.Invalid) return "Invalid";
            Assert.Equal(0, reader.Consumed);
        }
        return "Incomplete";
    }

    private static void AssertPreface(string wire, string expected)
    {
        byte[] data = Bytes.Of(wire);
        foreach (Segmentation mode in Enum.GetValues<Segmentation>())
        {
            string? mismatch = CaseRunner.FirstMismatch(data, mode, () => 0, (input, _) =>
            {
                string actual = ReadPreface(input);
                return actual == expected ? null : $"{input.Name}: expected {expected}, got {actual}";
            });
            Assert.True(mismatch is null, mismatch);
        }
    }

    [Fact]
    public void Preface_Received_Valid() => AssertPreface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "Valid consumed=24");

    [Fact]
    public void Preface_FollowedBySettings_ConsumesOnlyPreface() =>
        AssertPreface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0", "Valid consumed=24");

    [Fact]
    public void Preface_Truncated_Incomplete() => AssertPreface("PRI * HTTP/2.0\r\n\r\nSM\r\n", "Incomplete");

    [Fact]
    public void Preface_Http1Request_InvalidAtFirstWrongOctet() => AssertPreface("GET / HTTP/1.1\r\n", "Invalid");

    [Fact]
    public void Preface_WrongLastOctet_Invalid() => AssertPreface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r", "Invalid");

    [Fact]
    public void Preface_Http2Version_Lowercase_Invalid() => AssertPreface("pri * HTTP/2.0\r\n\r\nSM\r\n\r\n", "Invalid");
}
