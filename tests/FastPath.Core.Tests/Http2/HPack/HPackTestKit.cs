// Shared helpers for the HPACK tests: hex blocks, a recording struct handler, and decoding a block whole,
// split at every index, or one octet per fragment.
using System.Buffers;
using System.Text;
using FastPath.Http2.HPack;

namespace FastPath.Core.Tests.Http2.HPack;

internal readonly record struct Field(string Name, string Value, bool NeverIndexed = false)
{
    public override string ToString() => $"{Name}: {Value}{(NeverIndexed ? " (never indexed)" : "")}";
}

internal struct RecordingHandler(List<Field> fields) : IHPackHeaderHandler
{
    public readonly List<Field> Fields = fields;

    public readonly void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed) =>
        Fields.Add(new Field(Encoding.Latin1.GetString(name), Encoding.Latin1.GetString(value), neverIndexed));
}

internal struct CountingHandler : IHPackHeaderHandler
{
    public int Count;
    public int Octets;

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed)
    {
        Count++;
        Octets += name.Length + value.Length;
    }
}

internal static class HPackTestKit
{
    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    public static string ToHex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    public static (HPackError Error, List<Field> Fields) Decode(HPackDecoder decoder, byte[] block)
    {
        var handler = new RecordingHandler([]);
        HPackError error = decoder.Decode(block, endHeaders: true, ref handler);
        return (error, handler.Fields);
    }

    /// <summary>Decodes the block as two fragments split at <paramref name="split"/>.</summary>
    public static (HPackError Error, List<Field> Fields) DecodeSplit(HPackDecoder decoder, byte[] block, int split)
    {
        var handler = new RecordingHandler([]);
        HPackError error = decoder.Decode(block.AsSpan(0, split), endHeaders: false, ref handler);
        if (error == HPackError.None) error = decoder.Decode(block.AsSpan(split), endHeaders: true, ref handler);
        return (error, handler.Fields);
    }

    public static (HPackError Error, List<Field> Fields) DecodeBytewise(HPackDecoder decoder, byte[] block)
    {
        var handler = new RecordingHandler([]);
        for (int i = 0; i < block.Length; i++)
        {
            HPackError error = decoder.Decode(block.AsSpan(i, 1), endHeaders: i == block.Length - 1, ref handler);
            if (error != HPackError.None) return (error, handler.Fields);
        }
        if (block.Length == 0) return (decoder.Decode([], endHeaders: true, ref handler), handler.Fields);
        return (HPackError.None, handler.Fields);
    }

    public static ReadOnlySequence<byte> Segmented(byte[] block, int segmentLength)
    {
        Segment? first = null, last = null;
        for (int i = 0; i < block.Length; i += segmentLength)
        {
            var memory = new ReadOnlyMemory<byte>(block, i, Math.Min(segmentLength, block.Length - i));
            if (first is null) first = last = new Segment(memory, 0);
            else last = last!.Append(memory);
        }
        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    public static List<Field> Table(HPackDynamicTable table)
    {
        var entries = new List<Field>();
        for (int i = 0; i < table.Count; i++)
        {
            table.Get(i, out ReadOnlySpan<byte> n, out ReadOnlySpan<byte> v);
            entries.Add(new Field(Encoding.Latin1.GetString(n), Encoding.Latin1.GetString(v)));
        }
        return entries;
    }

    public static byte[] B(string s) => Encoding.Latin1.GetBytes(s);

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}

/// <summary>RFC 7541 Appendix C: blocks, the fields they decode to, and the dynamic table after each.</summary>
internal static class Rfc7541Examples
{
    public sealed record Step(string Hex, Field[] Fields, Field[] TableAfter, int SizeAfter);

    public static readonly Field[] Request1 = [new(":method", "GET"), new(":scheme", "http"), new(":path", "/"), new(":authority", "www.example.com")];
    public static readonly Field[] Request2 = [new(":method", "GET"), new(":scheme", "http"), new(":path", "/"), new(":authority", "www.example.com"), new("cache-control", "no-cache")];
    public static readonly Field[] Request3 = [new(":method", "GET"), new(":scheme", "https"), new(":path", "/index.html"), new(":authority", "www.example.com"), new("custom-key", "custom-value")];

    public static readonly Field[] Table1 = [new(":authority", "www.example.com")];
    public static readonly Field[] Table2 = [new("cache-control", "no-cache"), new(":authority", "www.example.com")];
    public static readonly Field[] Table3 = [new("custom-key", "custom-value"), new("cache-control", "no-cache"), new(":authority", "www.example.com")];

    // C.3 (plain) and C.4 (Huffman) share fields and tables.
    public static readonly Step[] C3 =
    [
        new("828684410f7777772e6578616d706c652e636f6d", Request1, Table1, 57),
        new("828684be58086e6f2d6361636865", Request2, Table2, 110),
        new("828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565", Request3, Table3, 164),
    ];

    public static readonly Step[] C4 =
    [
        new("828684418cf1e3c2e5f23a6ba0ab90f4ff", Request1, Table1, 57),
        new("828684be5886a8eb10649cbf", Request2, Table2, 110),
        new("828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf", Request3, Table3, 164),
    ];

    private const string Date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
    private const string Date2 = "Mon, 21 Oct 2013 20:13:22 GMT";
    private const string Location = "https://www.example.com";
    private const string Cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

    public static readonly Field[] Response1 = [new(":status", "302"), new("cache-control", "private"), new("date", Date1), new("location", Location)];
    public static readonly Field[] Response2 = [new(":status", "307"), new("cache-control", "private"), new("date", Date1), new("location", Location)];
    public static readonly Field[] Response3 = [new(":status", "200"), new("cache-control", "private"), new("date", Date2), new("location", Location), new("content-encoding", "gzip"), new("set-cookie", Cookie)];

    public static readonly Field[] ResponseTable1 = [new("location", Location), new("date", Date1), new("cache-control", "private"), new(":status", "302")];
    public static readonly Field[] ResponseTable2 = [new(":status", "307"), new("location", Location), new("date", Date1), new("cache-control", "private")];
    public static readonly Field[] ResponseTable3 = [new("set-cookie", Cookie), new("content-encoding", "gzip"), new("date", Date2)];

    // C.5 (plain) and C.6 (Huffman), with a 256-octet table so entries are evicted.
    public static readonly Step[] C5 =
    [
        new("4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d", Response1, ResponseTable1, 222),
        new("4803333037c1c0bf", Response2, ResponseTable2, 222),
        new("88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31", Response3, ResponseTable3, 215),
    ];

    public static readonly Step[] C6 =
    [
        new("488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3", Response1, ResponseTable1, 222),
        new("4883640effc1c0bf", Response2, ResponseTable2, 222),
        new("88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007", Response3, ResponseTable3, 215),
    ];

    public static Step[] Get(string name) => name switch
    {
        "C3" => C3,
        "C4" => C4,
        "C5" => C5,
        _ => C6,
    };

    public static int TableSize(string name) => name is "C5" or "C6" ? 256 : 4096;
}
