// HTTP/2 attacks run against the real gateway process (not only the engine on its own): each attack connection must
// end with GOAWAY ENHANCE_YOUR_CALM (or the connection error the RFC names), while a legitimate HTTP/2 client on
// another connection keeps being served. Frames are written by hand here; the engine's own conformance suite has
// the full raw-frame client.
using System.Buffers.Binary;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class Http2AttackFixture : IAsyncLifetime
{
    public OriginServer Origin { get; private set; } = null!;
    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Origin = await OriginServer.StartAsync("a");
        Gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", Origin.Address));
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Origin.DisposeAsync();
    }
}

public sealed class Http2AttackTests(Http2AttackFixture fixture) : IClassFixture<Http2AttackFixture>
{
    private const byte DATA = 0x0, HEADERS = 0x1, RST_STREAM = 0x3, SETTINGS = 0x4, PING = 0x6, GOAWAY = 0x7, CONTINUATION = 0x9;
    private const byte EndStream = 0x1, EndHeaders = 0x4;
    private const uint ENHANCE_YOUR_CALM = 0xb;

    private readonly GatewayProcess _gateway = fixture.Gateway;

    /// <summary>A GET / field block from HPACK's static table (:method GET, :scheme http, :path /) and a literal :authority.</summary>
    private static byte[] GetBlock()
    {
        byte[] authority = Encoding.ASCII.GetBytes("attack.test");
        return [0x82, 0x86, 0x84, 0x01, (byte)authority.Length, .. authority];
    }

    private static byte[] Frame(byte type, byte flags, uint stream, ReadOnlySpan<byte> payload)
    {
        byte[] f = new byte[9 + payload.Length];
        f[0] = (byte)(payload.Length >> 16);
        f[1] = (byte)(payload.Length >> 8);
        f[2] = (byte)payload.Length;
        f[3] = type;
        f[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(5), stream);
        payload.CopyTo(f.AsSpan(9));
        return f;
    }

    private async Task<NetworkStream> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, _gateway.Port);
        var stream = new NetworkStream(socket, ownsSocket: true);
        await stream.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
        await stream.WriteAsync(Frame(SETTINGS, 0, 0, []));
        return stream;
    }

    /// <summary>Reads frames until GOAWAY (returns its error code) or the connection ends (returns null).</summary>
    private static async Task<uint?> ReadUntilGoAwayAsync(NetworkStream stream, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        byte[] header = new byte[9];
        try
        {
            while (true)
            {
                await stream.ReadExactlyAsync(header, cts.Token);
                int length = (header[0] << 16) | (header[1] << 8) | header[2];
                byte[] payload = new byte[length];
                await stream.ReadExactlyAsync(payload, cts.Token);
                if (header[3] == GOAWAY) return BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(4));
            }
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>What a well-behaved client on its own connection gets while the attack runs.</summary>
    private async Task AssertLegitimateClientServedAsync()
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(10),
        };
        for (int i = 0; i < 5; i++)
        {
            using HttpResponseMessage r = await client.GetAsync(_gateway.Url("/legit"));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal(new Version(2, 0), r.Version);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task RapidReset_Cve2023_44487_GoAwayEnhanceYourCalm_OthersServed()
    {
        await using NetworkStream attack = await ConnectAsync();
        Task<uint?> goAway = ReadUntilGoAwayAsync(attack, TimeSpan.FromSeconds(20));
        byte[] block = GetBlock();
        byte[] cancel = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(cancel, 0x8); // CANCEL
        var burst = new MemoryStream();
        for (uint id = 1; id < 2 * 2000; id += 2)
        {
            burst.Write(Frame(HEADERS, EndHeaders, id, block));
            burst.Write(Frame(RST_STREAM, 0, id, cancel));
        }
        try
        {
            await attack.WriteAsync(burst.ToArray());
        }
        catch (IOException)
        {
            // The gateway may close before it has read the whole burst.
        }
        await AssertLegitimateClientServedAsync();
        Assert.Equal(ENHANCE_YOUR_CALM, await goAway);
    }

    [Fact(Timeout = 60_000)]
    public async Task ContinuationFlood_Cve2024_27316_ConnectionEnded_OthersServed()
    {
        await using NetworkStream attack = await ConnectAsync();
        Task<uint?> goAway = ReadUntilGoAwayAsync(attack, TimeSpan.FromSeconds(20));
        // A header block that never ends: HEADERS without END_HEADERS, then CONTINUATION frames full of valid
        // literal fields ("x-a: b", not indexed), far past the 64 KiB bound on a header block.
        byte[] field = [0x00, 0x03, (byte)'x', (byte)'-', (byte)'a', 0x01, (byte)'b'];
        byte[] filler = new byte[field.Length * 2000];
        for (int i = 0; i < 2000; i++) field.CopyTo(filler, i * field.Length);
        try
        {
            await attack.WriteAsync(Frame(HEADERS, 0, 1, GetBlock()));
            for (int i = 0; i < 64; i++) await attack.WriteAsync(Frame(CONTINUATION, 0, 1, filler));
        }
        catch (IOException)
        {
            // Closed mid-flood: expected.
        }
        await AssertLegitimateClientServedAsync();
        uint? code = await goAway;
        // A connection error with GOAWAY (ENHANCE_YOUR_CALM for the wire bound, or the header-list bound), never a
        // silent drop or a crash.
        Assert.NotNull(code);
        Assert.NotEqual(0u, code!.Value);
    }

    [Fact(Timeout = 60_000)]
    public async Task PingFlood_Cve2019_9512_GoAwayEnhanceYourCalm_OthersServed()
    {
        await using NetworkStream attack = await ConnectAsync();
        Task<uint?> goAway = ReadUntilGoAwayAsync(attack, TimeSpan.FromSeconds(20));
        var burst = new MemoryStream();
        byte[] opaque = new byte[8];
        for (int i = 0; i < 5000; i++) burst.Write(Frame(PING, 0, 0, opaque));
        try
        {
            await attack.WriteAsync(burst.ToArray());
        }
        catch (IOException)
        {
        }
        await AssertLegitimateClientServedAsync();
        Assert.Equal(ENHANCE_YOUR_CALM, await goAway);
    }

    [Fact(Timeout = 60_000)]
    public async Task EmptyDataFlood_Cve2019_9518_GoAwayEnhanceYourCalm_OthersServed()
    {
        await using NetworkStream attack = await ConnectAsync();
        Task<uint?> goAway = ReadUntilGoAwayAsync(attack, TimeSpan.FromSeconds(20));
        var burst = new MemoryStream();
        burst.Write(Frame(HEADERS, EndHeaders, 1, GetBlock())); // a POST-like open stream (no END_STREAM)
        for (int i = 0; i < 1000; i++) burst.Write(Frame(DATA, 0, 1, []));
        try
        {
            await attack.WriteAsync(burst.ToArray());
        }
        catch (IOException)
        {
        }
        await AssertLegitimateClientServedAsync();
        Assert.Equal(ENHANCE_YOUR_CALM, await goAway);
    }

    [Fact(Timeout = 60_000)]
    public async Task HeaderListOverLimit_StreamAnswered_ConnectionServesOn()
    {
        // A client that ignores our SETTINGS_MAX_HEADER_LIST_SIZE (curl and .NET refuse to send such a request):
        // 8 literal fields of 9000 octets, ~72 KB, over the 64 KiB limit but under the 128 KiB hard bound, across
        // HEADERS and CONTINUATION frames. The stream is answered (431, by the engine) and the connection goes on:
        // the next stream reaches the origin. (The 431 itself is checked in the engine's conformance tests.)
        await using NetworkStream client = await ConnectAsync();
        var block = new List<byte>(GetBlock());
        for (int i = 0; i < 8; i++)
        {
            byte[] name = Encoding.ASCII.GetBytes($"x-big-{i}");
            block.AddRange([0x00, (byte)name.Length, .. name]); // literal without indexing, new name, no Huffman
            block.AddRange([0x7F, 0xA9, 0x45]);                 // value length 9000 (RFC 7541 §5.1: 127 + 8873)
            block.AddRange(Enumerable.Repeat((byte)('a' + i), 9000));
        }
        byte[] bytes = block.ToArray();
        for (int at = 0; at < bytes.Length; at += 16_384)
        {
            int n = Math.Min(16_384, bytes.Length - at);
            byte flags = (byte)(at + n == bytes.Length ? EndHeaders : 0);
            await client.WriteAsync(Frame(at == 0 ? HEADERS : CONTINUATION, (byte)(at == 0 ? flags | EndStream : flags), 1, bytes.AsSpan(at, n)));
        }
        byte[] path = Encoding.ASCII.GetBytes("/after-big-headers");
        byte[] next = [0x82, 0x86, 0x04, (byte)path.Length, .. path, 0x01, 11, .. Encoding.ASCII.GetBytes("attack.test")];
        await client.WriteAsync(Frame(HEADERS, EndHeaders | EndStream, 3, next));
        // Both streams end with a HEADERS or DATA frame carrying END_STREAM; no RST_STREAM, no GOAWAY; the second
        // one's body is the origin's.
        var ended = new HashSet<uint>();
        var body3 = new MemoryStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        byte[] header = new byte[9];
        while (ended.Count < 2)
        {
            await client.ReadExactlyAsync(header, cts.Token);
            int length = (header[0] << 16) | (header[1] << 8) | header[2];
            uint stream = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(5)) & 0x7FFF_FFFF;
            byte[] payload = new byte[length];
            await client.ReadExactlyAsync(payload, cts.Token);
            Assert.NotEqual(GOAWAY, header[3]);
            Assert.NotEqual(RST_STREAM, header[3]);
            if (header[3] == DATA && stream == 3) body3.Write(payload);
            if (header[3] is HEADERS or DATA && (header[4] & EndStream) != 0) ended.Add(stream);
        }
        Assert.Equal([1u, 3u], ended.Order());
        Assert.Equal("origin=a GET /after-big-headers\n", Encoding.ASCII.GetString(body3.ToArray()));
    }
}
