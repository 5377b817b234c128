// Real ClientHello bytes for the parser's case table: an SslStream client handshakes against a loopback socket that
// never answers, and the bytes it sent first are read off the server side, record by record, until the whole
// handshake message is in. Nothing is hand-written, so the cases track what .NET (OpenSSL underneath) really sends.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace FastPath.Core.Tests.Filters.Listener;

internal static class ClientHelloCapture
{
    public static byte[] Capture(string? serverName, string[]? alpn, SslProtocols protocols) =>
        CaptureAsync(serverName, alpn, protocols).GetAwaiter().GetResult();

    public static async Task<byte[]> CaptureAsync(string? serverName, string[]? alpn, SslProtocols protocols)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using TcpClient server = await listener.AcceptTcpClientAsync();
        var ssl = new SslStream(client.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);
        var options = new SslClientAuthenticationOptions
        {
            // An IP address as target host sends no server_name extension (RFC 6066 section 3 forbids literal IPs).
            TargetHost = serverName ?? "127.0.0.1",
            EnabledSslProtocols = protocols,
            ApplicationProtocols = alpn?.Select(a => new SslApplicationProtocol(a)).ToList(),
        };
        Task handshake = ssl.AuthenticateAsClientAsync(options);

        NetworkStream stream = server.GetStream();
        using var captured = new MemoryStream();
        int payload = 0, needed = int.MaxValue;
        byte[] header = new byte[5];
        while (payload < needed)
        {
            await stream.ReadExactlyAsync(header);
            int length = (header[3] << 8) | header[4];
            byte[] body = new byte[length];
            await stream.ReadExactlyAsync(body);
            captured.Write(header);
            captured.Write(body);
            if (payload == 0) needed = 4 + ((body[1] << 16) | (body[2] << 8) | body[3]);
            payload += length;
        }
        server.Close();
        try { await handshake; } catch (Exception e) when (e is IOException or AuthenticationException) { }
        ssl.Dispose();
        return captured.ToArray();
    }

    /// <summary>The same handshake message cut into records of at most <paramref name="size"/> bytes each.</summary>
    public static byte[] Refragment(byte[] hello, int size)
    {
        byte[] version = [hello[1], hello[2]];
        var message = new MemoryStream();
        for (int at = 0; at < hello.Length;)
        {
            int length = (hello[at + 3] << 8) | hello[at + 4];
            message.Write(hello, at + 5, length);
            at += 5 + length;
        }
        byte[] m = message.ToArray();
        var output = new MemoryStream();
        for (int at = 0; at < m.Length; at += size)
        {
            int n = Math.Min(size, m.Length - at);
            output.Write([22, version[0], version[1], (byte)(n >> 8), (byte)n]);
            output.Write(m, at, n);
        }
        return output.ToArray();
    }
}
