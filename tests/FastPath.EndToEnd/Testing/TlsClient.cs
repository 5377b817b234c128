// A TLS client for tests that need more than curl gives: the certificate the server chose, the negotiated ALPN
// protocol, a client certificate from PEM files, and the byte stream afterwards. Verifies against a test CA.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace FastPath.EndToEnd.Testing;

public sealed class TlsClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;

    private TlsClient(TcpClient tcp, SslStream ssl)
    {
        _tcp = tcp;
        Ssl = ssl;
    }

    public SslStream Ssl { get; }
    public X509Certificate2 ServerCertificate => new(Ssl.RemoteCertificate!);

    /// <param name="caFile">The test CA the server must chain to; null accepts any certificate.</param>
    public static async Task<TlsClient> ConnectAsync(int port, string serverName, string? caFile, Issued? clientCertificate = null,
        string[]? alpn = null, CancellationToken cancel = default)
    {
        var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(IPAddress.Loopback, port, cancel);
            X509Certificate2Collection? roots = null;
            if (caFile is not null)
            {
                roots = new X509Certificate2Collection();
                roots.ImportFromPemFile(caFile);
            }
            var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
            var options = new SslClientAuthenticationOptions
            {
                TargetHost = serverName,
                ApplicationProtocols = alpn?.Select(p => new SslApplicationProtocol(p)).ToList(),
                RemoteCertificateValidationCallback = (_, cert, _, _) => roots is null || Verify((X509Certificate2)cert!, roots),
            };
            if (clientCertificate is not null)
                options.ClientCertificates = [X509Certificate2.CreateFromPemFile(clientCertificate.CertFile, clientCertificate.KeyFile)];
            await ssl.AuthenticateAsClientAsync(options, cancel);
            return new TlsClient(tcp, ssl);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    private static bool Verify(X509Certificate2 cert, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(cert);
    }

    /// <summary>One HTTP/1.1 request on this connection; the status code and the body (Content-Length or chunked).</summary>
    public async Task<(int Status, string Body)> GetAsync(string path, string host, CancellationToken cancel = default)
    {
        await Ssl.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n"), cancel);
        string head = await ReadUntilAsync("\r\n\r\n", cancel);
        int status = int.Parse(head.AsSpan(9, 3), provider: System.Globalization.CultureInfo.InvariantCulture);
        int length = 0;
        bool chunked = false;
        foreach (string line in head.Split("\r\n"))
        {
            if (line.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase))
                length = int.Parse(line[15..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            if (line.StartsWith("transfer-encoding:", StringComparison.OrdinalIgnoreCase) && line.Contains("chunked", StringComparison.OrdinalIgnoreCase))
                chunked = true;
        }
        if (!chunked)
        {
            byte[] body = new byte[length];
            await ReadExactlyAsync(body, cancel);
            return (status, Encoding.UTF8.GetString(body));
        }
        var all = new StringBuilder();
        while (true)
        {
            int size = int.Parse((await ReadUntilAsync("\r\n", cancel)).Trim().Split(';')[0], System.Globalization.NumberStyles.HexNumber,
                System.Globalization.CultureInfo.InvariantCulture);
            if (size == 0)
            {
                await ReadUntilAsync("\r\n", cancel); // no trailers: the empty line
                return (status, all.ToString());
            }
            byte[] chunk = new byte[size + 2];
            await ReadExactlyAsync(chunk, cancel);
            all.Append(Encoding.UTF8.GetString(chunk, 0, size));
        }
    }

    // Buffered reads: a byte at a time would cost a TLS read call per byte.
    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _start, _end;

    private async Task<string> ReadUntilAsync(string end, CancellationToken cancel)
    {
        var text = new StringBuilder();
        while (true)
        {
            while (_start < _end)
            {
                text.Append((char)_buffer[_start++]);
                if (text.Length >= end.Length && text.ToString(text.Length - end.Length, end.Length) == end) return text.ToString();
            }
            _start = 0;
            _end = await Ssl.ReadAsync(_buffer, cancel);
            if (_end == 0) throw new IOException("closed in the middle of a response");
        }
    }

    private async Task ReadExactlyAsync(byte[] destination, CancellationToken cancel)
    {
        int have = Math.Min(destination.Length, _end - _start);
        _buffer.AsSpan(_start, have).CopyTo(destination);
        _start += have;
        if (have < destination.Length) await Ssl.ReadExactlyAsync(destination.AsMemory(have), cancel);
    }

    public async ValueTask DisposeAsync()
    {
        await Ssl.DisposeAsync();
        _tcp.Dispose();
    }
}
