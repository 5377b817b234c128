// ClientHelloParser over real ClientHellos (captured from SslStream: TLS 1.3 and 1.2, with and without SNI and ALPN),
// re-fragmented into many records, truncated, oversized and not TLS at all. Every case runs three ways (one
// segment, split at every index, one byte per segment) the way the inspector sees a connection: the bytes so far,
// never consumed, re-offered after each arrival with the same scan state.
using System.Buffers;
using System.Security.Authentication;
using System.Text;
using FastPath.Core.Tests.Testing;
using FastPath.Filters.Listener;

namespace FastPath.Core.Tests.Filters.Listener;

public sealed class ClientHelloParserTests
{
    private sealed record Case(byte[] Input, ClientHelloParseResult Expected, string ServerName = "", string Alpn = "");

    private static readonly Lazy<byte[]> Tls13 = new(() => ClientHelloCapture.Capture("a.example.com", ["h2", "http/1.1"], SslProtocols.Tls13));

    private static readonly Lazy<Dictionary<string, Case>> Cases = new(() =>
    {
        byte[] tls13 = Tls13.Value;
        byte[] tls12 = ClientHelloCapture.Capture("B.Example.COM", ["http/1.1"], SslProtocols.Tls12);
        byte[] noSni = ClientHelloCapture.Capture(null, null, SslProtocols.Tls12 | SslProtocols.Tls13);
        byte[] badSessionId = (byte[])tls12.Clone();
        badSessionId[5 + 4 + 2 + 32] = 33; // legacy_session_id<0..32>
        byte[] oversized = [22, 3, 1, 0x40, 0x00, 1, 0x01, 0x00, 0x00, 3, 3];
        byte[] serverHello = (byte[])tls12.Clone();
        serverHello[5] = 2;
        return new Dictionary<string, Case>
        {
            ["tls13 sni alpn"] = new(tls13, ClientHelloParseResult.Complete, "a.example.com", "h2,http/1.1"),
            ["tls12 sni alpn, name lower-cased"] = new(tls12, ClientHelloParseResult.Complete, "b.example.com", "http/1.1"),
            ["no sni no alpn"] = new(noSni, ClientHelloParseResult.Complete),
            ["records of 100 bytes"] = new(ClientHelloCapture.Refragment(tls13, 100), ClientHelloParseResult.Complete, "a.example.com", "h2,http/1.1"),
            ["records of 2 bytes (too many records)"] = new(ClientHelloCapture.Refragment(tls13, 2), ClientHelloParseResult.TooLarge),
            ["truncated by one byte"] = new(tls13[..^1], ClientHelloParseResult.Incomplete),
            ["record header only"] = new(tls13[..5], ClientHelloParseResult.Incomplete),
            ["first byte only"] = new(tls13[..1], ClientHelloParseResult.Incomplete),
            ["plaintext http"] = new(Bytes.Of("GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n"), ClientHelloParseResult.NotTls),
            ["ssh banner"] = new(Bytes.Of("SSH-2.0-OpenSSH_9.6\r\n"), ClientHelloParseResult.NotTls),
            ["record version not 3"] = new([22, 7, 1, 0, 4, 1, 0, 0, 0], ClientHelloParseResult.NotTls),
            ["empty record"] = new([22, 3, 1, 0, 0, 1], ClientHelloParseResult.NotTls),
            ["handshake is a ServerHello"] = new(serverHello, ClientHelloParseResult.NotTls),
            ["session id longer than 32"] = new(badSessionId, ClientHelloParseResult.NotTls),
            ["handshake longer than 64 KiB"] = new(oversized, ClientHelloParseResult.TooLarge),
        };
    });

    public static TheoryData<string, Segmentation> All => CaseRunner.EveryWay(Cases.Value.Keys);

    [Theory]
    [MemberData(nameof(All))]
    public void Parse_Case_SameOutcomeEverySegmentation(string name, Segmentation mode)
    {
        Case c = Cases.Value[name];
        string? mismatch = CaseRunner.FirstMismatch(c.Input, mode, () => 0, (input, _) => Check(c, input));
        Assert.True(mismatch is null, $"{name}: {mismatch}");
    }

    // The inspector's loop: offer what has arrived; Incomplete means wait. Only the case's outcome may end it, and a
    // complete hello only once its last byte is there.
    private static string? Check(Case c, SegmentedInput input)
    {
        var scan = new ClientHelloScan();
        var info = new ClientHelloInfo();
        ClientHelloParseResult result = ClientHelloParseResult.Incomplete;
        for (int k = 0; k < input.SegmentCount && result == ClientHelloParseResult.Incomplete; k++)
        {
            result = ClientHelloParser.Parse(input.Available(0, k), ref scan, ref info);
            if (result == ClientHelloParseResult.Complete && k != input.SegmentCount - 1) return $"{input.Name}: complete after segment {k}";
        }
        if (result != c.Expected) return $"{input.Name}: {result}, expected {c.Expected}";
        if (result != ClientHelloParseResult.Complete) return null;
        string sni = Encoding.ASCII.GetString(info.ServerName);
        string alpn = AlpnText(info.Alpn);
        return sni == c.ServerName && alpn == c.Alpn ? null : $"{input.Name}: sni '{sni}' alpn '{alpn}'";
    }

    private static string AlpnText(ReadOnlySpan<byte> wire)
    {
        var names = new List<string>();
        while (!wire.IsEmpty)
        {
            names.Add(Encoding.ASCII.GetString(wire.Slice(1, wire[0])));
            wire = wire[(1 + wire[0])..];
        }
        return string.Join(',', names);
    }

    [Fact]
    public void Parse_CompleteHello_AllocatesNothing()
    {
        var input = new ReadOnlySequence<byte>(Tls13.Value);
        var info = new ClientHelloInfo();
        int complete = 0;
        for (int i = 0; i < 10; i++) complete += Parse(input, ref info);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) complete += Parse(input, ref info);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(1010, complete);
        Assert.Equal(0, allocated);

        static int Parse(in ReadOnlySequence<byte> input, ref ClientHelloInfo info)
        {
            var scan = new ClientHelloScan();
            return ClientHelloParser.Parse(input, ref scan, ref info) == ClientHelloParseResult.Complete ? 1 : 0;
        }
    }

    [Fact]
    public void Parse_AlpnLongerThanBuffer_KeepsProtocolsThatFit()
    {
        string[] many = [.. Enumerable.Range(0, 40).Select(i => $"proto-{i:D2}")]; // 40 x 9 bytes: more than 256
        byte[] hello = ClientHelloCapture.Capture("a.example.com", many, SslProtocols.Tls13);
        var scan = new ClientHelloScan();
        var info = new ClientHelloInfo();

        Assert.Equal(ClientHelloParseResult.Complete, ClientHelloParser.Parse(new ReadOnlySequence<byte>(hello), ref scan, ref info));
        string[] kept = AlpnText(info.Alpn).Split(',');
        Assert.Equal(many[..kept.Length], kept);
        Assert.InRange(kept.Length, 20, 39);
        Assert.Equal("a.example.com", Encoding.ASCII.GetString(info.ServerName));
    }
}
