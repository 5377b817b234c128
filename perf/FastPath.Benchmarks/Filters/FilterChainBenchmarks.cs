// What a new connection on a listener with filter chains costs before its first byte is forwarded: parsing a real
// ClientHello (captured from SslStream in setup: TLS 1.3, SNI, ALPN h2 + http/1.1) and choosing among 200 chains by
// SNI (exact and wildcard), ALPN and source range. Category ZeroAlloc: the CI gate fails if either allocates.
using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastPath.Config;
using FastPath.Filters.Listener;
using FastPath.Filters.Network;

namespace FastPath.Benchmarks.Filters;

[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
public class FilterChainBenchmarks
{
    private ReadOnlySequence<byte> _hello;
    private ClientHelloInfo _info;
    private FilterChainMatcher _matcher = null!;
    private byte[] _exactName = [];
    private byte[] _wildcardName = [];
    private byte[] _alpn = [];
    private IPAddress _source = IPAddress.Loopback;

    [GlobalSetup]
    public void Setup()
    {
        _hello = new ReadOnlySequence<byte>(CaptureAsync().GetAwaiter().GetResult());
        var matches = new List<FilterChainMatchConfig>();
        for (int i = 0; i < 100; i++) matches.Add(new FilterChainMatchConfig { ServerNames = [$"svc-{i}.example.com"] });
        for (int i = 0; i < 98; i++) matches.Add(new FilterChainMatchConfig { ServerNames = [$"*.tenant-{i}.example.net"] });
        matches.Add(new FilterChainMatchConfig { ServerNames = ["*.tenant-7.example.net"], ApplicationProtocols = ["h2"], SourcePrefixRanges = ["10.0.0.0/8"] });
        matches.Add(new FilterChainMatchConfig());
        _matcher = FilterChainMatcher.Build(matches, out _);
        _exactName = Encoding.ASCII.GetBytes("svc-63.example.com");
        _wildcardName = Encoding.ASCII.GetBytes("api.eu.tenant-7.example.net");
        _alpn = [2, (byte)'h', (byte)'2', 8, .. "http/1.1"u8];
        _source = IPAddress.Parse("10.1.2.3");
    }

    [Benchmark]
    public int ParseClientHello()
    {
        var scan = new ClientHelloScan();
        return (int)ClientHelloParser.Parse(_hello, ref scan, ref _info) + _info.ServerName.Length;
    }

    [Benchmark]
    public int SelectExactServerName() => _matcher.Select(new FilterChainQuery
    {
        DestinationPort = 443, ServerName = _exactName, IsTls = true, ApplicationProtocols = _alpn, Source = _source,
    });

    [Benchmark]
    public int SelectWildcardAlpnSource() => _matcher.Select(new FilterChainQuery
    {
        DestinationPort = 443, ServerName = _wildcardName, IsTls = true, ApplicationProtocols = _alpn, Source = _source,
    });

    private static async Task<byte[]> CaptureAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using TcpClient server = await listener.AcceptTcpClientAsync();
        var ssl = new SslStream(client.GetStream(), false, (_, _, _, _) => true);
        Task handshake = ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "svc-63.example.com",
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
        });
        NetworkStream stream = server.GetStream();
        byte[] header = new byte[5];
        await stream.ReadExactlyAsync(header);
        byte[] body = new byte[(header[3] << 8) | header[4]];
        await stream.ReadExactlyAsync(body);
        server.Close();
        try { await handshake; } catch (Exception e) when (e is IOException or AuthenticationException) { }
        ssl.Dispose();
        return [.. header, .. body];
    }
}
