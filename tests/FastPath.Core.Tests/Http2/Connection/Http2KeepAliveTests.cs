// Keepalive PINGs of a client connection (Envoy connection_keepalive), with time driven through Tick: a PING every
// interval, the connection dropped when one goes unanswered for the timeout, any frame received counting as life
// (head-of-line blocking is not death), and no PINGs unless configured. The peer is scripted over in-memory pipes.
using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using FastPath.Http2;
using FastPath.Http2.Frames;

namespace FastPath.Core.Tests.Http2.Connection;

public sealed class Http2KeepAliveTests
{
    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    /// <summary>The server end: sends raw frames, and reads the client's frames after its preface.</summary>
    private sealed class ScriptedServer
    {
        private readonly Pipe _toClient = new();
        private readonly Pipe _toServer = new();
        private bool _prefaceRead;

        public Http2Connection Client { get; }
        public Task Run { get; }

        public ScriptedServer(Http2ConnectionLimits limits)
        {
            Client = Http2Connection.ForClient(new Duplex(_toClient.Reader, _toServer.Writer), limits);
            Run = Client.RunAsync();
        }

        public async Task SendAsync(Http2FrameType type, Http2FrameFlags flags, byte[] payload)
        {
            byte[] frame = new byte[9 + payload.Length];
            frame[0] = (byte)(payload.Length >> 16);
            frame[1] = (byte)(payload.Length >> 8);
            frame[2] = (byte)payload.Length;
            frame[3] = (byte)type;
            frame[4] = (byte)flags;
            payload.CopyTo(frame, 9);
            await _toClient.Writer.WriteAsync(frame);
        }

        /// <summary>The next frame of <paramref name="type"/> the client sent (others skipped): its flags and payload.</summary>
        public async Task<(Http2FrameFlags Flags, byte[] Payload)> NextFrameAsync(Http2FrameType type)
        {
            PipeReader reader = _toServer.Reader;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            while (true)
            {
                ReadResult r = await reader.ReadAsync(timeout.Token);
                ReadOnlySequence<byte> buffer = r.Buffer;
                if (!_prefaceRead && buffer.Length >= Http2ConnectionPreface.ClientPreface.Length)
                {
                    buffer = buffer.Slice(Http2ConnectionPreface.ClientPreface.Length);
                    _prefaceRead = true;
                }
                while (_prefaceRead && buffer.Length >= 9)
                {
                    byte[] header = buffer.Slice(0, 9).ToArray();
                    int length = header[0] << 16 | header[1] << 8 | header[2];
                    if (buffer.Length < 9 + length) break;
                    byte[] payload = buffer.Slice(9, length).ToArray();
                    buffer = buffer.Slice(9 + length);
                    if ((Http2FrameType)header[3] != type) continue;
                    reader.AdvanceTo(buffer.Start);
                    return ((Http2FrameFlags)header[4], payload);
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                Assert.False(r.IsCompleted, $"the client closed before sending {type}");
            }
        }

        /// <summary>Whether the client has written any frame of <paramref name="type"/> that is still unread.</summary>
        public async Task<bool> SentWithinAsync(Http2FrameType type, TimeSpan wait)
        {
            try
            {
                Task<(Http2FrameFlags, byte[])> next = NextFrameAsync(type);
                return await Task.WhenAny(next, Task.Delay(wait)) == next && next.IsCompletedSuccessfully;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
    }

    private static async Task<ScriptedServer> SettledAsync(long intervalMs, long timeoutMs)
    {
        var server = new ScriptedServer(new Http2ConnectionLimits { KeepAliveIntervalMs = intervalMs, KeepAliveTimeoutMs = timeoutMs });
        await server.SendAsync(Http2FrameType.SETTINGS, 0, []);
        await server.SendAsync(Http2FrameType.SETTINGS, Http2FrameFlags.ACK, []); // no SETTINGS_TIMEOUT in long tests
        await server.Client.PeerSettingsReceived.WaitAsync(TimeSpan.FromSeconds(5));
        // The ACK may come in a later read than the SETTINGS: a round trip proves it was processed before the first
        // Tick, or a long Tick finds our SETTINGS unacknowledged and ends the connection (SETTINGS_TIMEOUT). Two ACKs
        // come back, for the first SETTINGS and the round trip's; both are read here, so none is left for a later
        // WaitForAckProcessedAsync to mistake for its own.
        await server.SendAsync(Http2FrameType.SETTINGS, 0, []);
        for (int acks = 0; acks < 2;)
        {
            (Http2FrameFlags flags, _) = await server.NextFrameAsync(Http2FrameType.SETTINGS);
            if ((flags & Http2FrameFlags.ACK) != 0) acks++;
        }
        server.Client.Tick(0);
        return server;
    }

    private static async Task<byte[]> PingAtAsync(ScriptedServer server, long now)
    {
        server.Client.Tick(now);
        (Http2FrameFlags flags, byte[] payload) = await server.NextFrameAsync(Http2FrameType.PING);
        Assert.Equal(Http2FrameFlags.NONE, flags & Http2FrameFlags.ACK);
        return payload;
    }

    [Fact(Timeout = 30_000)]
    public async Task PING_Unanswered_ConnectionClosedAfterTimeout()
    {
        ScriptedServer server = await SettledAsync(intervalMs: 1_000, timeoutMs: 500);
        await PingAtAsync(server, 1_000);

        await AssertAliveThenDeadAsync(server, aliveAt: 1_400, deadAt: 1_501);
    }

    [Fact(Timeout = 30_000)]
    public async Task PING_Acknowledged_ConnectionKept_NextPingAfterInterval()
    {
        ScriptedServer server = await SettledAsync(intervalMs: 1_000, timeoutMs: 500);
        byte[] opaque = await PingAtAsync(server, 1_000);
        await server.SendAsync(Http2FrameType.PING, Http2FrameFlags.ACK, opaque);
        await WaitForAckProcessedAsync(server);

        server.Client.Tick(1_900);
        Assert.False(server.Run.IsCompleted);
        byte[] second = await PingAtAsync(server, 2_000);
        Assert.Equal(opaque, second);
        Assert.False(server.Run.IsCompleted);
    }

    [Fact(Timeout = 30_000)]
    public async Task PING_AnyFrameReceived_ExtendsTheTimeout()
    {
        ScriptedServer server = await SettledAsync(intervalMs: 1_000, timeoutMs: 500);
        await PingAtAsync(server, 1_000);
        server.Client.Tick(1_400);
        await server.SendAsync(Http2FrameType.WINDOW_UPDATE, 0, [0, 0, 0, 1]); // a live peer stuck behind other bytes
        await WaitForAckProcessedAsync(server);

        // At 1,800: 800 ms since the PING, but only 400 since the last frame.
        await AssertAliveThenDeadAsync(server, aliveAt: 1_800, deadAt: 1_901);
    }

    [Fact(Timeout = 30_000)]
    public async Task PING_NotConfigured_NoneSent()
    {
        // Long jumps, but under the 30 s output-stall timeout: the last SETTINGS ACK's flush may not have been
        // marked done yet (its completion runs on the thread pool), and a jump past that timeout would end the
        // connection as stalled, which is not what this test is about (it failed so once under a loaded run).
        ScriptedServer server = await SettledAsync(intervalMs: 0, timeoutMs: 500);
        server.Client.Tick(15_000);
        server.Client.Tick(29_000);

        Assert.False(await server.SentWithinAsync(Http2FrameType.PING, TimeSpan.FromMilliseconds(300)));
        Assert.False(server.Run.IsCompleted);
    }

    // Tick decides synchronously (EndReason is set in it); the connection then ends on its own loop.
    private static async Task AssertAliveThenDeadAsync(ScriptedServer server, long aliveAt, long deadAt)
    {
        server.Client.Tick(aliveAt);
        Assert.Equal(Http2ConnectionEndReason.None, server.Client.EndReason);
        server.Client.Tick(deadAt);
        await server.Run.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(Http2ConnectionEndReason.KeepAliveTimeout, server.Client.EndReason);
    }

    // The frame is read on the connection's loop: a SETTINGS round trip after it proves it was processed.
    private static async Task WaitForAckProcessedAsync(ScriptedServer server)
    {
        await server.SendAsync(Http2FrameType.SETTINGS, 0, []);
        while (true)
        {
            (Http2FrameFlags flags, _) = await server.NextFrameAsync(Http2FrameType.SETTINGS);
            if ((flags & Http2FrameFlags.ACK) != 0) return;
        }
    }
}
