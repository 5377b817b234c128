// Shared steps of the conformance tests: a host and a handshaken raw client, and the check that a connection
// survived a stream error (a new request on it is still answered).
using FastPath.Http2;
using FastPath.Http2.Frames;

namespace FastPath.Core.Tests.Http2.Connection;

internal static class Http2ConformanceKit
{
    public static byte[] U32(uint value)
    {
        byte[] b = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(b, value);
        return b;
    }

    public static byte[] Setting(Http2SettingsParameter p, uint value)
    {
        byte[] b = new byte[6];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)p);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(2), value);
        return b;
    }

    /// <summary>The connection still serves: a GET on <paramref name="streamId"/> is answered 200.</summary>
    public static async Task AssertServesAsync(Http2RawClient client, uint streamId)
    {
        await client.SendHeadersAsync(streamId, Http2RawClient.Get("/size/3"), endStream: true);
        ReceivedResponse r = await client.ReadResponseAsync(streamId);
        Assert.Equal(200, r.Status);
        Assert.Equal(3, r.Body.Length);
    }

    /// <summary>On a fresh connection, <paramref name="send"/> must end it with GOAWAY <paramref name="code"/>, then close.</summary>
    public static async Task AssertConnectionErrorAsync(Http2ErrorCode code, Func<Http2RawClient, Task> send, Http2ConnectionLimits? limits = null)
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync(limits);
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await send(client);
        await client.ExpectConnectionErrorAsync(code);
    }

    /// <summary>On a fresh connection, <paramref name="send"/> must reset <paramref name="streamId"/> with <paramref name="code"/>, and the connection still serves.</summary>
    /// Returns how many requests reached the application.
    public static async Task<int> AssertStreamErrorAsync(uint streamId, Http2ErrorCode code, Func<Http2RawClient, Task> send, Http2ConnectionLimits? limits = null)
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync(limits);
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await send(client);
        await client.ExpectStreamErrorAsync(streamId, code);
        await AssertServesAsync(client, streamId + 2);
        return host.Handler.StreamsStarted;
    }

    /// <summary>Sends a request with <paramref name="fields"/> on stream 1; expects RST_STREAM PROTOCOL_ERROR and a live connection.</summary>
    public static async Task AssertMalformedAsync((string, string)[] fields, bool endStream = true)
    {
        int started = await AssertStreamErrorAsync(1, Http2ErrorCode.PROTOCOL_ERROR, client => client.SendHeadersAsync(1, fields, endStream));
        Assert.Equal(1, started); // only the check request reached the application
    }

    public static Task SendWindowUpdateAsync(this Http2RawClient client, uint streamId, uint increment) =>
        client.SendRawAsync(Http2FrameType.WINDOW_UPDATE, 0, streamId, U32(increment));
}
