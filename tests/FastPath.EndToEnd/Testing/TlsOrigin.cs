// A TLS origin for passthrough tests: an SslStream server with its own self-signed certificate (subject CN = its
// name, made here with CertificateRequest). After the handshake it says who it is and which ALPN protocol was
// agreed, echoes one line back and closes, so a client can tell which origin the gateway's SNI routing reached.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace FastPath.EndToEnd.Testing;

public sealed class TlsOrigin : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private readonly string[] _alpn;
    private int _connections;

    public TlsOrigin(string name, params string[] alpn)
    {
        Name = name;
        _alpn = alpn;
        Certificate = SelfSigned(name);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public string Name { get; }
    public X509Certificate2 Certificate { get; }
    public int Port { get; }
    public string Address => $"127.0.0.1:{Port}";
    public int ConnectionCount => Volatile.Read(ref _connections);

    public static X509Certificate2 SelfSigned(string commonName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(commonName);
        request.CertificateExtensions.Add(san.Build());
        using X509Certificate2 cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        // Round-trip through PKCS#12 so the private key is usable by the TLS stack on every platform.
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            Interlocked.Increment(ref _connections);
            _ = ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        cts.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = Certificate,
                ApplicationProtocols = _alpn.Length == 0 ? null : _alpn.Select(a => new SslApplicationProtocol(a)).ToList(),
            }, cts.Token);
            string alpn = ssl.NegotiatedApplicationProtocol.Protocol.IsEmpty ? "-" : ssl.NegotiatedApplicationProtocol.ToString();
            await ssl.WriteAsync(Encoding.ASCII.GetBytes($"origin={Name} alpn={alpn}\n"), cts.Token);
            using var reader = new StreamReader(ssl, Encoding.ASCII, leaveOpen: true);
            if (await reader.ReadLineAsync(cts.Token) is { } line)
                await ssl.WriteAsync(Encoding.ASCII.GetBytes($"echo {line}\n"), cts.Token);
            await ssl.ShutdownAsync();
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException
                                       or System.Security.Authentication.AuthenticationException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _acceptLoop;
        _stop.Dispose();
        Certificate.Dispose();
    }
}
