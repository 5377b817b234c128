// HTTP/2 attacks run against the real gateway process (not only the engine on its own): each attack connection must
// end with GOAWAY ENHANCE_YOUR_CALM (or the connection error the RFC names), or the attacked stream with the
// RST_STREAM the defence sends, while a legitimate HTTP/2 client on another connection keeps being served. Frames
// are written by hand (Testing/RawHttp2); the engine's own conformance suite has the full raw-frame client. The listener's http2
// section sets a few limits low (and the send stall timeout short), so the tests are quick and show that the
// configured limits, not only the defaults, reach the connections.
using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using FastPath.EndToEnd.Testing;
using static FastPath.EndToEnd.Testing.RawHttp2;

namespace FastPath.EndToEnd;

public sealed class Http2AttackFixture : IAsyncLifetime
{
    public OriginServer Origin { get; private set; } = null!;
    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Origin = await OriginServer.StartAsync("a");
        var yaml = new GatewayYaml().Route("/", "main").Cluster("main", Origin.Address);
        yaml.ListenerYaml.AddRange(
        [
            "http2:",
            $"  max_header_list_size: {Http2AttackTests.MaxHeaderListSize}",
            $"  max_resets_per_interval: {Http2AttackTests.MaxResetsPerSecond}",
            $"  max_inbound_window_update_frames_per_interval: {Http2AttackTests.MaxWindowUpdatesPerSecond}",
            "  send_stall_timeout: 1s",
        ]);
        Gateway = await GatewayProcess.StartAsync(yaml, accessLog: true);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Origin.DisposeAsync();
    }
}

public sealed class Http2AttackTests(Http2AttackFixture fixture) : IClassFixture<Http2AttackFixture>
{
    internal const int MaxHeaderListSize = 16 * 1024;
    internal const int MaxResetsPerSecond = 40;
    internal const int MaxWindowUpdatesPerSecond = 1000;

    private readonly GatewayProcess _gateway = fixture.Gateway;
    private readonly OriginServer _origin = fixture.Origin;

    /// <summary>An HPACK integer (RFC 7541 §5.1) with an N-bit prefix, the prefix bits' flags in <paramref name="first"/>.</summary>
    private static void WriteHPackInteger(MemoryStream to, byte first, int prefixBits, int value)
    {
        int max = (1 << prefixBits) - 1;
        if (value < max)
        {
            to.WriteByte((byte)(first | value));
            return;
        }
        to.WriteByte((byte)(first | max));
        for (value -= max; value >= 128; value >>= 7) to.WriteByte((byte)(value % 128 + 128));
        to.WriteByte((byte)value);
    }

    /// <summary>
    /// Writes one connection's attack burst (built by <paramref name="writeBurst"/>) and expects GOAWAY
    /// ENHANCE_YOUR_CALM, counted under <paramref name="reason"/>, while a legitimate client is served.
    /// </summary>
    private async Task AssertFloodEndsConnectionAsync(string reason, Action<MemoryStream> writeBurst)
    {
        double before = await ConnectionErrorsAsync(reason);
        await using NetworkStream attack = await ConnectAsync(_gateway.Port);
        Task<uint?> goAway = ReadUntilGoAwayAsync(attack, TimeSpan.FromSeconds(20));
        var burst = new MemoryStream();
        writeBurst(burst);
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
        await AssertConnectionErrorsCountedAsync(reason, before);
    }

    /// <summary>fastpath_http2_connection_errors_total for one reason (0 before its first count).</summary>
    private async Task<double> ConnectionErrorsAsync(string reason)
    {
        (_, string text) = await _gateway.AdminGetAsync("/stats/prometheus");
        Match m = Regex.Match(text, $"^fastpath_http2_connection_errors_total\\{{reason=\"{reason}\"\\}} (\\S+)$", RegexOptions.Multiline);
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>fastpath_http2_stream_resets_total for downstream streams (0 before its first count).</summary>
    private async Task<double> StreamResetsAsync(string direction, string code)
    {
        (_, string text) = await _gateway.AdminGetAsync("/stats/prometheus");
        Match m = Regex.Match(text,
            $"^fastpath_http2_stream_resets_total\\{{side=\"downstream\",direction=\"{direction}\",code=\"{code}\"\\}} (\\S+)$", RegexOptions.Multiline);
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>The connection's end is counted when its last bytes are drained: waits for the counter to pass <paramref name="before"/>.</summary>
    private async Task AssertConnectionErrorsCountedAsync(string reason, double before, int connections = 1)
    {
        double now = before;
        for (long deadline = Environment.TickCount64 + 10_000; Environment.TickCount64 < deadline; await Task.Delay(100))
        {
            now = await ConnectionErrorsAsync(reason);
            if (now >= before + connections) return;
        }
        Assert.Fail($"fastpath_http2_connection_errors_total{{reason=\"{reason}\"}} went from {before} to {now}, expected +{connections}");
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
        byte[] block = GetBlock();
        byte[] cancel = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(cancel, CANCEL);
        double received = await StreamResetsAsync("received", "CANCEL");
        await AssertFloodEndsConnectionAsync("reset_flood", burst =>
        {
            for (uint id = 1; id < 2 * 2000; id += 2)
            {
                burst.Write(Frame(HEADERS, EndHeaders, id, block));
                burst.Write(Frame(RST_STREAM, 0, id, cancel));
            }
        });
        // Every reset up to the cap was taken (and counted) before the connection ended.
        Assert.True(await StreamResetsAsync("received", "CANCEL") >= received + MaxResetsPerSecond);
    }

    [Fact(Timeout = 60_000)]
    public async Task ContinuationFlood_Cve2024_27316_ConnectionEnded_OthersServed()
    {
        await using NetworkStream attack = await ConnectAsync(_gateway.Port);
        Task<uint?> goAway = ReadUntilGoAwayAsync(attack, TimeSpan.FromSeconds(20));
        // A header block that never ends: HEADERS without END_HEADERS, then CONTINUATION frames full of valid
        // literal fields ("x-a: b", not indexed), far past the bound on a header block (16 KiB here).
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
    public Task PingFlood_Cve2019_9512_GoAwayEnhanceYourCalm_OthersServed()
    {
        return AssertFloodEndsConnectionAsync("control_frame_flood", burst =>
        {
            byte[] opaque = new byte[8];
            for (int i = 0; i < 5000; i++) burst.Write(Frame(PING, 0, 0, opaque));
        });
    }

    [Fact(Timeout = 60_000)]
    public Task EmptyDataFlood_Cve2019_9518_GoAwayEnhanceYourCalm_OthersServed()
    {
        return AssertFloodEndsConnectionAsync("empty_frame_flood", burst =>
        {
            burst.Write(Frame(HEADERS, EndHeaders, 1, GetBlock())); // a POST-like open stream (no END_STREAM)
            for (int i = 0; i < 1000; i++) burst.Write(Frame(DATA, 0, 1, []));
        });
    }

    [Fact(Timeout = 60_000)]
    public Task MadeYouReset_Cve2025_8671_GoAwayEnhanceYourCalm_OthersServed()
    {
        // The client never sends RST_STREAM: each stream is a valid GET, then a frame the server must answer with
        // one, WINDOW_UPDATE of 0 (§6.9.1, a stream error) or DATA after END_STREAM (§5.1, STREAM_CLOSED). Those
        // resets must count like a client's: 140 streams pass the 40 per second allowed even if the burst straddles
        // three intervals, while the streams refused past the 100 concurrent ones (at most 40) cannot alone.
        byte[] block = GetBlock();
        byte[] zeroIncrement = new byte[4];
        return AssertFloodEndsConnectionAsync("reset_flood", burst =>
        {
            for (uint n = 0, id = 1; n < 140; n++, id += 2)
            {
                burst.Write(Frame(HEADERS, EndHeaders | EndStream, id, block));
                burst.Write(n % 2 == 0 ? Frame(WINDOW_UPDATE, 0, id, zeroIncrement) : Frame(DATA, 0, id, "x"u8));
            }
        });
    }

    [Fact(Timeout = 60_000)]
    public async Task HpackBomb_DecodedListOverLimit_ConnectionRefusedMemoryBounded_OthersServed()
    {
        const int Connections = 20, References = 4000;
        // One 4,000-octet value enters the dynamic table (literal with incremental indexing, RFC 7541 §6.2.1; 4,038
        // octets of the 4,096 table), then 4,000 one-octet references to it (index 62, the newest entry): 8 KB on
        // the wire, under the 16 KiB bound on block octets, that would decode to 16 MB of header list.
        var bomb = new MemoryStream();
        bomb.Write(GetBlock());
        bomb.WriteByte(0x40);
        WriteHPackInteger(bomb, 0, 7, "x-bomb".Length);
        bomb.Write("x-bomb"u8);
        WriteHPackInteger(bomb, 0, 7, 4000);
        bomb.Write(Enumerable.Repeat((byte)'a', 4000).ToArray());
        for (int i = 0; i < References; i++) bomb.WriteByte(0x80 | 62);
        Assert.InRange(bomb.Length, 1, MaxHeaderListSize);
        byte[] headers = Frame(HEADERS, EndHeaders | EndStream, 1, bomb.ToArray());

        double before = await ConnectionErrorsAsync("header_list_too_large");
        long rssBefore = _gateway.ReadRssBytes() ?? 0;
        var attacks = new List<(NetworkStream Stream, Task<uint?> GoAway)>();
        try
        {
            for (int i = 0; i < Connections; i++)
            {
                NetworkStream attack = await ConnectAsync(_gateway.Port);
                attacks.Add((attack, ReadUntilGoAwayAsync(attack, TimeSpan.FromSeconds(20))));
                await attack.WriteAsync(headers);
            }
            await AssertLegitimateClientServedAsync();
            // The decoder stops at the list limit; the table can no longer be trusted, so the connection ends
            // (PROTOCOL_ERROR, as Kestrel does) and the request never reaches the origin.
            foreach ((_, Task<uint?> goAway) in attacks) Assert.Equal(PROTOCOL_ERROR, await goAway);
        }
        finally
        {
            foreach ((NetworkStream attack, _) in attacks) await attack.DisposeAsync();
        }
        await AssertConnectionErrorsCountedAsync("header_list_too_large", before, Connections);
        Assert.DoesNotContain(_origin.Requests, r => r.Header("x-bomb") is not null);
        long grown = (_gateway.ReadRssBytes() ?? 0) - rssBefore;
        Assert.True(grown < 64L << 20, $"RSS grew by {grown >> 20} MiB over {Connections} bombs of 16 MB each");
    }

    [Fact(Timeout = 60_000)]
    public async Task HpackTableSizeUpdateAboveSetting_CompressionError_OthersServed()
    {
        // The other half of the HPACK bound: a client may not grow the dynamic table the proxy holds past the
        // SETTINGS_HEADER_TABLE_SIZE it advertised (4,096; RFC 7541 §6.3), here asking for 1 MiB.
        var block = new MemoryStream();
        WriteHPackInteger(block, 0x20, 5, 1 << 20);
        block.Write(GetBlock());
        double before = await ConnectionErrorsAsync("protocol_error");
        await using NetworkStream attack = await ConnectAsync(_gateway.Port);
        Task<uint?> goAway = ReadUntilGoAwayAsync(attack, TimeSpan.FromSeconds(20));
        await attack.WriteAsync(Frame(HEADERS, EndHeaders | EndStream, 1, block.ToArray()));
        await AssertLegitimateClientServedAsync();
        Assert.Equal(COMPRESSION_ERROR, await goAway);
        await AssertConnectionErrorsCountedAsync("protocol_error", before);
    }

    [Fact(Timeout = 60_000)]
    public Task SettingsFlood_Cve2019_9515_GoAwayEnhanceYourCalm_OthersServed()
    {
        // Each SETTINGS makes the server queue an ACK; 5,000 in a burst pass the 1,000 control frames per second.
        byte[] settings = new byte[6];
        BinaryPrimitives.WriteUInt16BigEndian(settings, SETTINGS_INITIAL_WINDOW_SIZE);
        BinaryPrimitives.WriteUInt32BigEndian(settings.AsSpan(2), 65_535);
        return AssertFloodEndsConnectionAsync("control_frame_flood", burst =>
        {
            for (int i = 0; i < 5000; i++) burst.Write(Frame(SETTINGS, 0, 0, settings));
        });
    }

    [Fact(Timeout = 60_000)]
    public Task WindowUpdateFlood_GoAwayEnhanceYourCalm_OthersServed()
    {
        // Valid connection-level increments of 1, 5x the configured 1,000 per second.
        byte[] increment = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(increment, 1);
        return AssertFloodEndsConnectionAsync("window_update_flood", burst =>
        {
            for (int i = 0; i < 5 * MaxWindowUpdatesPerSecond; i++) burst.Write(Frame(WINDOW_UPDATE, 0, 0, increment));
        });
    }

    [Fact(Timeout = 60_000)]
    public async Task MaxConcurrentStreams_101stStreamRefused_OpenStreamsAndOthersServed()
    {
        double refusedBefore = await StreamResetsAsync("sent", "REFUSED_STREAM");
        await using NetworkStream attack = await ConnectAsync(_gateway.Port);
        Dictionary<ushort, uint> server = await AcknowledgeServerSettingsAsync(attack);
        Assert.Equal(100u, server[SETTINGS_MAX_CONCURRENT_STREAMS]);
        Assert.Equal((uint)MaxHeaderListSize, server[SETTINGS_MAX_HEADER_LIST_SIZE]); // the listener's http2 section applied

        // 100 requests the origin holds for 3 s fill the connection; the 101st must be refused, not queued.
        var burst = new MemoryStream();
        byte[] slow = GetBlock("/delay?ms=3000");
        for (uint id = 1; id <= 199; id += 2) burst.Write(Frame(HEADERS, EndHeaders | EndStream, id, slow));
        burst.Write(Frame(HEADERS, EndHeaders | EndStream, 201, GetBlock("/refused")));
        await attack.WriteAsync(burst.ToArray());

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        RawFrame refused = default;
        var ended = new HashSet<uint>();
        while (refused.Type != RST_STREAM)
        {
            RawFrame f = await ReadFrameAsync(attack, cts.Token);
            Assert.NotEqual(GOAWAY, f.Type);
            if (f.Type == RST_STREAM) refused = f;
            else if (f.EndsStream) ended.Add(f.StreamId);
        }
        Assert.Equal(201u, refused.StreamId);
        Assert.Equal(REFUSED_STREAM, refused.ErrorCode);
        Assert.Equal(refusedBefore + 1, await StreamResetsAsync("sent", "REFUSED_STREAM"));
        Assert.Empty(ended); // refused while all 100 were still at the origin
        await AssertLegitimateClientServedAsync();

        // The 100 admitted streams complete normally on the same connection.
        while (ended.Count < 100)
        {
            RawFrame f = await ReadFrameAsync(attack, cts.Token);
            Assert.True(f.Type is not (RST_STREAM or GOAWAY), $"stream {f.StreamId} ended with frame type {f.Type}");
            if (f.EndsStream) ended.Add(f.StreamId);
        }
        Assert.All(ended, id => Assert.InRange(id, 1u, 199u));
    }

    [Fact(Timeout = 60_000)]
    public async Task ZeroWindowStall_StreamResetAfterSendStallTimeout_ConnectionAndOthersServed()
    {
        // The client lets the server send nothing on any stream (SETTINGS_INITIAL_WINDOW_SIZE 0) and never opens
        // the window of stream 1, whose response is 1 MB: the stream must not hold the server forever.
        double cancelsBefore = await StreamResetsAsync("sent", "CANCEL");
        await using NetworkStream attack = await ConnectAsync(_gateway.Port, (SETTINGS_INITIAL_WINDOW_SIZE, 0));
        await AcknowledgeServerSettingsAsync(attack);
        long started = Environment.TickCount64;
        await attack.WriteAsync(Frame(HEADERS, EndHeaders | EndStream, 1, GetBlock("/download?bytes=1048576")));

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        RawFrame reset;
        do
        {
            reset = await ReadFrameAsync(attack, cts.Token);
            Assert.NotEqual(GOAWAY, reset.Type);
            Assert.False(reset.Type == DATA && reset.StreamId == 1 && reset.Payload.Length > 0, "DATA sent past a zero window");
        }
        while (reset.Type != RST_STREAM);
        long elapsed = Environment.TickCount64 - started;
        Assert.Equal(1u, reset.StreamId);
        Assert.Equal(CANCEL, reset.ErrorCode);
        // send_stall_timeout is 1 s here (30 s by default): not at once, and not long after.
        Assert.InRange(elapsed, 900, 10_000);
        Assert.True(await StreamResetsAsync("sent", "CANCEL") >= cancelsBefore + 1);

        // The connection itself is fine: a stream whose window the client opens is served on it.
        byte[] window = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(window, 65_535);
        byte[] request = [.. Frame(HEADERS, EndHeaders | EndStream, 3, GetBlock("/after-stall")), .. Frame(WINDOW_UPDATE, 0, 3, window)];
        await attack.WriteAsync(request);
        var body = new MemoryStream();
        while (true)
        {
            RawFrame f = await ReadFrameAsync(attack, cts.Token);
            Assert.True(f.Type is not (RST_STREAM or GOAWAY), $"frame type {f.Type} on stream {f.StreamId}");
            if (f.StreamId != 3) continue;
            if (f.Type == DATA) body.Write(f.Payload);
            if (f.EndsStream) break;
        }
        Assert.Contains("GET /after-stall", Encoding.ASCII.GetString(body.ToArray()), StringComparison.Ordinal);
        await AssertLegitimateClientServedAsync();
    }

    [Theory(Timeout = 60_000)]
    [InlineData(3, 8000)]
    [InlineData(1, 20_000)]
    public async Task HeaderListOverLimit_StreamAnswered_ConnectionServesOn(int fields, int valueLength)
    {
        // A client that ignores our SETTINGS_MAX_HEADER_LIST_SIZE (curl and .NET refuse to send such a request):
        // literal fields totalling ~24 KB, or one of ~20 KB (longer than any HPACK string used to be allowed: it
        // ended the connection with COMPRESSION_ERROR), over the fixture's 16 KiB limit but under its 32 KiB hard
        // bound, across HEADERS and CONTINUATION frames. The stream is answered (431, by the engine) and the
        // connection goes on: the next stream reaches the origin. (The 431 frames are checked in the engine's
        // conformance tests.)
        await using NetworkStream client = await ConnectAsync(_gateway.Port);
        string bigPath = $"/big-headers-{fields}";
        var block = new List<byte>(GetBlock(bigPath));
        for (int i = 0; i < fields; i++)
        {
            byte[] name = Encoding.ASCII.GetBytes($"x-big-{i}");
            block.AddRange([0x00, (byte)name.Length, .. name]); // literal without indexing, new name, no Huffman
            var value = new MemoryStream();
            WriteHPackInteger(value, 0x00, 7, valueLength);
            block.AddRange(value.ToArray());
            block.AddRange(Enumerable.Repeat((byte)('a' + i), valueLength));
        }
        Assert.InRange(block.Count, MaxHeaderListSize + 1, 2 * MaxHeaderListSize - 1);
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
        // No handler ran for the refused stream, but it is logged like any refused request: 431, DPE, and why.
        JsonElement line = await _gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == bigPath);
        Assert.Equal(431, line.GetProperty("status").GetInt32());
        Assert.Equal("DPE", line.GetProperty("response_flags").GetString());
        Assert.Equal("header_list_too_large", line.GetProperty("response_code_details").GetString());
    }
}
