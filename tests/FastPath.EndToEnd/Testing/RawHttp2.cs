// Raw HTTP/2 frames for end-to-end tests that must send what no real client would (attacks, zero windows): frame
// and field-block builders, a prior-knowledge (h2c) connection, and a frame reader with a deadline on every read.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastPath.EndToEnd.Testing;

public static class RawHttp2
{
    public const byte DATA = 0x0, HEADERS = 0x1, RST_STREAM = 0x3, SETTINGS = 0x4, PING = 0x6, GOAWAY = 0x7, WINDOW_UPDATE = 0x8, CONTINUATION = 0x9;
    public const byte EndStream = 0x1, Ack = 0x1, EndHeaders = 0x4;
    public const uint PROTOCOL_ERROR = 0x1, REFUSED_STREAM = 0x7, CANCEL = 0x8, COMPRESSION_ERROR = 0x9, ENHANCE_YOUR_CALM = 0xb;
    public const ushort SETTINGS_MAX_CONCURRENT_STREAMS = 0x3, SETTINGS_INITIAL_WINDOW_SIZE = 0x4, SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;

    /// <summary>A GET / field block from HPACK's static table (:method GET, :scheme http, :path /) and a literal :authority.</summary>
    public static byte[] GetBlock()
    {
        byte[] authority = Encoding.ASCII.GetBytes("attack.test");
        return [0x82, 0x86, 0x84, 0x01, (byte)authority.Length, .. authority];
    }

    /// <summary>A GET of <paramref name="path"/>: :path as a literal without indexing (static name 4), so blocks stay independent.</summary>
    public static byte[] GetBlock(string path)
    {
        byte[] p = Encoding.ASCII.GetBytes(path);
        byte[] authority = Encoding.ASCII.GetBytes("attack.test");
        return [0x82, 0x86, 0x04, (byte)p.Length, .. p, 0x01, (byte)authority.Length, .. authority];
    }

    public static byte[] Frame(byte type, byte flags, uint stream, ReadOnlySpan<byte> payload)
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

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/> and sends the preface and a SETTINGS frame with <paramref name="settings"/> (none: empty).</summary>
    public static async Task<NetworkStream> ConnectAsync(int port, params (ushort Id, uint Value)[] settings)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var stream = new NetworkStream(socket, ownsSocket: true);
        await stream.WriteAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
        byte[] payload = new byte[6 * settings.Length];
        for (int i = 0; i < settings.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(6 * i), settings[i].Id);
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(6 * i + 2), settings[i].Value);
        }
        await stream.WriteAsync(Frame(SETTINGS, 0, 0, payload));
        return stream;
    }

    /// <summary>Reads the gateway's SETTINGS (its first frame) and acknowledges it, as a well-behaved client would.</summary>
    public static async Task<Dictionary<ushort, uint>> AcknowledgeServerSettingsAsync(NetworkStream stream)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        RawFrame f = await ReadFrameAsync(stream, cts.Token);
        Assert.True(f.Type == SETTINGS && (f.Flags & Ack) == 0, $"expected the server's SETTINGS first, got type {f.Type}");
        var settings = new Dictionary<ushort, uint>();
        for (int i = 0; i + 6 <= f.Payload.Length; i += 6)
            settings[BinaryPrimitives.ReadUInt16BigEndian(f.Payload.AsSpan(i))] = BinaryPrimitives.ReadUInt32BigEndian(f.Payload.AsSpan(i + 2));
        await stream.WriteAsync(Frame(SETTINGS, Ack, 0, []));
        return settings;
    }

    public readonly record struct RawFrame(byte Type, byte Flags, uint StreamId, byte[] Payload)
    {
        /// <summary>The error code of a RST_STREAM or GOAWAY.</summary>
        public uint ErrorCode => BinaryPrimitives.ReadUInt32BigEndian(Type == GOAWAY ? Payload.AsSpan(4) : Payload);

        /// <summary>The frame ends its stream (DATA or HEADERS with END_STREAM).</summary>
        public bool EndsStream => Type is DATA or HEADERS && (Flags & EndStream) != 0;
    }

    public static async Task<RawFrame> ReadFrameAsync(NetworkStream stream, CancellationToken cancel)
    {
        byte[] header = new byte[9];
        await stream.ReadExactlyAsync(header, cancel);
        int length = (header[0] << 16) | (header[1] << 8) | header[2];
        byte[] payload = new byte[length];
        await stream.ReadExactlyAsync(payload, cancel);
        return new RawFrame(header[3], header[4], BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(5)) & 0x7fff_ffff, payload);
    }

    /// <summary>Reads frames until GOAWAY (returns its error code) or the connection ends (returns null).</summary>
    public static async Task<uint?> ReadUntilGoAwayAsync(NetworkStream stream, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                RawFrame f = await ReadFrameAsync(stream, cts.Token);
                if (f.Type == GOAWAY) return f.ErrorCode;
            }
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or OperationCanceledException)
        {
            return null;
        }
    }
}
