// Attacks run against the server engine over real sockets, each followed by a legitimate client on another
// connection that must still be served: rapid reset (CVE-2023-44487), MadeYouReset (CVE-2025-8671), CONTINUATION
// flood (CVE-2024-27316), HPACK bomb, the 2019 flood family (CVE-2019-9512..9518) and a peer that never reads.
using System.Buffers;
using FastPath.Http2;
using FastPath.Http2.Frames;
using static FastPath.Core.Tests.Http2.Connection.Http2ConformanceKit;

namespace FastPath.Core.Tests.Http2.Connection;

public sealed class Http2DefenceTests
{
    private static async Task AssertLegitimateClientServedAsync(Http2TestHost host)
    {
        await using Http2RawClient legit = await Http2RawClient.ConnectAsync(host.EndPoint);
        await AssertServesAsync(legit, 1);
    }

    private static async Task SendManyAsync(Http2RawClient client, int count, Action<ArrayBufferWriter<byte>, int> frame)
    {
        // Batches of frames per write, like an attack tool; a closed connection ends the attack early.
        var w = new ArrayBufferWriter<byte>();
        for (int i = 0; i < count; i++)
        {
            frame(w, i);
            if (w.WrittenCount > 32 * 1024 || i == count - 1)
            {
                try
                {
                    await client.SendAsync(w.WrittenMemory);
                }
                catch (IOException)
                {
                    return;
                }
                w.ResetWrittenCount();
            }
        }
    }

    /// <summary>
    /// Opens streams with valid requests, each followed by <paramref name="follow"/>; expects ENHANCE_YOUR_CALM (the
    /// connection ended as a reset flood) and a legitimate client served. Returns how many handlers the attack made
    /// the server start.
    /// </summary>
    private static async Task<int> StreamAttackAsync(Http2FrameType followType, Func<byte[]> followPayload)
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient attacker = await Http2RawClient.ConnectAsync(host.EndPoint);
        byte[] block = attacker.Encode(Http2RawClient.Get("/hold"));
        byte[] payload = followPayload();
        await SendManyAsync(attacker, 5000, (w, i) =>
        {
            uint id = (uint)(2 * i + 1);
            Http2RawClient.RawFrame(w, Http2FrameType.HEADERS, Http2FrameFlags.END_HEADERS | Http2FrameFlags.END_STREAM, id, block);
            Http2RawClient.RawFrame(w, followType, 0, id, payload);
        });
        Assert.Equal(Http2ErrorCode.ENHANCE_YOUR_CALM, await attacker.ExpectGoAwayAsync());
        await host.WaitForEndedConnectionAsync(Http2ConnectionEndReason.ResetFlood);
        await AssertLegitimateClientServedAsync(host);
        return host.Handler.StreamsStarted;
    }

    /// <summary>Sends <paramref name="count"/> frames after <paramref name="setup"/>; expects ENHANCE_YOUR_CALM, the
    /// connection ended for <paramref name="reason"/>, and a legitimate client served.</summary>
    private static async Task<Http2RawClient> FloodAsync(int count, Action<ArrayBufferWriter<byte>, int> frame, Http2ConnectionEndReason reason,
        Func<Http2RawClient, Task>? setup = null)
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        Http2RawClient attacker = await Http2RawClient.ConnectAsync(host.EndPoint);
        if (setup is not null) await setup(attacker);
        await SendManyAsync(attacker, count, frame);
        Assert.Equal(Http2ErrorCode.ENHANCE_YOUR_CALM, await attacker.ExpectGoAwayAsync());
        await host.WaitForEndedConnectionAsync(reason);
        await AssertLegitimateClientServedAsync(host);
        return attacker;
    }

    [Fact]
    public async Task RapidReset_HeadersThenRstStream_EnhanceYourCalm_OthersServed()
    {
        int started = await StreamAttackAsync(Http2FrameType.RST_STREAM, () => U32((uint)Http2ErrorCode.CANCEL));
        // The handlers started are bounded by the reset budget, not by the 5000 streams the attacker opened.
        Assert.InRange(started, 1, 300);
    }

    [Fact]
    public async Task MadeYouReset_WindowUpdateZero_EnhanceYourCalm_OthersServed()
    {
        // A valid request, then a frame that makes the server reset it (§6.9: WINDOW_UPDATE of 0).
        Assert.InRange(await StreamAttackAsync(Http2FrameType.WINDOW_UPDATE, () => U32(0)), 0, 300);
    }

    [Fact]
    public async Task MadeYouReset_DataOnHalfClosedStream_EnhanceYourCalm_OthersServed()
    {
        Assert.InRange(await StreamAttackAsync(Http2FrameType.DATA, () => [1]), 0, 300);
    }

    [Fact]
    public async Task ContinuationFlood_BlockBoundedAsItArrives_EnhanceYourCalm_OthersServed()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient attacker = await Http2RawClient.ConnectAsync(host.EndPoint);
        // Octets that decode to no field at all (HPACK table size updates, RFC 7541 §6.3), so only a bound on the
        // block's wire size - counted frame by frame - stops it; 1000 frames of 16 KiB would be 16 MiB.
        byte[] filler = Enumerable.Repeat((byte)0x20, 16_384).ToArray();
        await attacker.SendRawAsync(Http2FrameType.HEADERS, 0, 1, filler);
        await SendManyAsync(attacker, 1000, (w, _) => Http2RawClient.RawFrame(w, Http2FrameType.CONTINUATION, 0, 1, filler));
        Assert.Equal(Http2ErrorCode.ENHANCE_YOUR_CALM, await attacker.ExpectGoAwayAsync());
        await host.WaitForEndedConnectionAsync(Http2ConnectionEndReason.HeaderBlockTooLarge);
        await AssertLegitimateClientServedAsync(host);
    }

    [Fact]
    public async Task ContinuationFlood_EmptyFrames_EnhanceYourCalm_OthersServed()
    {
        await using Http2RawClient attacker = await FloodAsync(10_000, (w, _) => Http2RawClient.RawFrame(w, Http2FrameType.CONTINUATION, 0, 1, []),
            Http2ConnectionEndReason.EmptyFrameFlood, a => a.SendRawAsync(Http2FrameType.HEADERS, 0, 1, a.Encode(Http2RawClient.Get("/"))));
    }

    [Fact]
    public async Task HpackBomb_DecodedListOverLimit_ConnectionError_OthersServed()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient attacker = await Http2RawClient.ConnectAsync(host.EndPoint);
        // One 4000-octet field inserted in the dynamic table, then referenced by a 1-octet index 100 times: 100 octets
        // on the wire that decode to ~400 KB. The decoded list is bounded at 64 KiB as it is decoded.
        var w = new ArrayBufferWriter<byte>();
        var encoder = new FastPath.Http2.HPack.HPackEncoder();
        foreach ((string n, string v) in Http2RawClient.Get("/"))
            encoder.Encode(System.Text.Encoding.ASCII.GetBytes(n), System.Text.Encoding.ASCII.GetBytes(v), w, FastPath.Http2.HPack.HPackIndexing.WithoutIndexing);
        encoder.Encode("x-bomb"u8, System.Text.Encoding.ASCII.GetBytes(new string('b', 4000)), w, FastPath.Http2.HPack.HPackIndexing.IncrementalIndexing);
        for (int i = 0; i < 100; i++) w.Write<byte>([0xBE]); // index 62: the first dynamic entry
        await attacker.SendRawAsync(Http2FrameType.HEADERS, Http2FrameFlags.END_HEADERS | Http2FrameFlags.END_STREAM, 1, w.WrittenSpan.ToArray());
        Assert.Equal(Http2ErrorCode.PROTOCOL_ERROR, await attacker.ExpectGoAwayAsync());
        await host.WaitForEndedConnectionAsync(Http2ConnectionEndReason.HeaderListTooLarge);
        Assert.Equal(0, host.Handler.StreamsStarted);
        await AssertLegitimateClientServedAsync(host);
    }

    [Fact]
    public async Task PingFlood_EnhanceYourCalm_OthersServed()
    {
        await using Http2RawClient attacker = await FloodAsync(20_000, (w, i) => Http2FrameWriter.WritePing(w, (ulong)i, ack: false),
            Http2ConnectionEndReason.ControlFrameFlood);
        int acks = attacker.Skipped.Count(f => f.Type == Http2FrameType.PING);
        Assert.InRange(acks, 1, 1000); // no more replies than the budget
    }

    [Fact]
    public async Task SettingsFlood_EnhanceYourCalm_OthersServed()
    {
        await using Http2RawClient attacker = await FloodAsync(20_000,
            (w, _) => Http2FrameWriter.WriteSettings(w, [new(Http2SettingsParameter.SETTINGS_MAX_FRAME_SIZE, 16_384)]),
            Http2ConnectionEndReason.ControlFrameFlood);
    }

    [Fact]
    public async Task WindowUpdateFlood_EnhanceYourCalm_OthersServed()
    {
        await using Http2RawClient attacker = await FloodAsync(30_000, (w, _) => Http2FrameWriter.WriteWindowUpdate(w, 0, 1),
            Http2ConnectionEndReason.WindowUpdateFlood);
    }

    [Fact]
    public async Task EmptyDataFlood_EnhanceYourCalm_OthersServed()
    {
        await using Http2RawClient attacker = await FloodAsync(10_000, (w, _) => Http2RawClient.RawFrame(w, Http2FrameType.DATA, 0, 1, []),
            Http2ConnectionEndReason.EmptyFrameFlood, a => a.SendHeadersAsync(1, Http2RawClient.Post("/hold"), endStream: false));
    }

    [Fact]
    public async Task OutboundQueueFlood_PeerNeverReads_ReadingStopsThenStalledConnectionAborted_OthersServed()
    {
        // Rate limits off, so only the outbound bound acts: the attacker sends PINGs and never reads the ACKs.
        var limits = new Http2ConnectionLimits { MaxControlFramesPerInterval = int.MaxValue };
        await using Http2TestHost host = await Http2TestHost.StartAsync(limits, autoTick: false);
        await using Http2RawClient attacker = await Http2RawClient.ConnectAsync(host.EndPoint, receiveBuffer: 4096);
        var w = new ArrayBufferWriter<byte>();
        for (int i = 0; i < 2000; i++) Http2FrameWriter.WritePing(w, (ulong)i, ack: false);
        ReadOnlyMemory<byte> batch = w.WrittenMemory;
        long sent = 0;
        bool blocked = false;
        long deadline = Environment.TickCount64 + 8000;
        while (Environment.TickCount64 < deadline)
        {
            Task send = attacker.SendAsync(batch);
            // A send that has not finished in 1 s, nor 2 s later, is blocked: the server stopped reading, so its replies
            // are not queued without bound. (One that finishes late was a busy machine, not the bound.)
            if (await Task.WhenAny(send, Task.Delay(1000)) != send && await Task.WhenAny(send, Task.Delay(2000)) != send)
            {
                blocked = true;
                break;
            }
            await send;
            sent += batch.Length;
        }
        Assert.True(blocked, $"the server kept reading ({sent} octets of PING) from a peer that never reads");
        host.Tick(1);
        host.Tick(31_000);
        Http2Connection ended = await host.WaitForEndedConnectionAsync(Http2ConnectionEndReason.OutputStalled);
        Assert.Equal(0, ended.LiveStreams);
        await AssertLegitimateClientServedAsync(host);
        attacker.Abort();
    }
}
