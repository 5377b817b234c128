// One active health probe on its own socket (over TLS when the cluster originates TLS), never a pooled request connection (a probe must not queue behind
// traffic, and traffic must not reuse a probe's connection). TCP: a completed connect is healthy. HTTP: a minimal
// GET with Connection: close whose status line is parsed here (the codecs sit above Upstream in the dependency
// order, and a status line is all a check needs).
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastPath.Config;
using FastPath.Tls;

namespace FastPath.Upstream.Health;

internal sealed class HealthProbe
{
    // A status line longer than this is not an HTTP/1 origin worth calling healthy.
    private const int MaxStatusLine = 512;

    private readonly HttpHealthCheckConfig? _http;
    private readonly byte[]? _request;

    public HealthProbe(HealthCheckConfig config, string clusterName)
    {
        _http = config.Http;
        if (_http is not null)
        {
            // Path and host were checked to be visible ASCII when the config loaded.
            _request = Encoding.ASCII.GetBytes(
                $"GET {_http.Path} HTTP/1.1\r\nHost: {_http.Host ?? clusterName}\r\nUser-Agent: FastPath-HealthChecker\r\nConnection: close\r\n\r\n");
        }
    }

    /// <summary>Null when healthy, else a short reason for the log ("connect failed: ConnectionRefused", "status 503").</summary>
    /// <param name="tls">The cluster's origination settings: an HTTP probe goes over TLS like the traffic (a TCP probe
    /// stays a connect). <paramref name="host"/> is the endpoint's host, the SNI default.</param>
    public async Task<string?> ProbeAsync(IPEndPoint address, TimeSpan timeout, CancellationToken stopping, UpstreamTlsContext? tls = null,
        string? host = null)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        cts.CancelAfter(timeout);
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(address, cts.Token).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            return $"connect failed: {e.SocketErrorCode}";
        }
        catch (OperationCanceledException)
        {
            return "connect timed out";
        }
        if (_request is null) return null;

        Stream? stream = null;
        try
        {
            stream = new NetworkStream(socket, ownsSocket: false);
            if (tls is not null) stream = await tls.AuthenticateStreamAsync(stream, host ?? address.Address.ToString(), cts.Token).ConfigureAwait(false);
            await stream.WriteAsync(_request, cts.Token).ConfigureAwait(false);
            byte[] buffer = new byte[MaxStatusLine];
            int length = 0;
            while (true)
            {
                int n = await stream.ReadAsync(buffer.AsMemory(length), cts.Token).ConfigureAwait(false);
                if (n == 0) return "closed before a status line";
                length += n;
                int status = ParseStatusLine(buffer.AsSpan(0, length));
                if (status > 0) return _http!.Expects(status) ? null : $"status {status}";
                if (status < 0 || length == buffer.Length) return "invalid status line";
            }
        }
        catch (SocketException e)
        {
            return $"connection failed: {e.SocketErrorCode}";
        }
        catch (IOException e)
        {
            return e.InnerException is SocketException se ? $"connection failed: {se.SocketErrorCode}" : e.Message;
        }
        catch (OperationCanceledException)
        {
            return "timed out";
        }
        finally
        {
            if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The status code of "HTTP/1.x NNN reason\r\n" (RFC 9112 section 4); 0 while the line is incomplete, -1 when the
    /// bytes cannot be one.
    /// </summary>
    internal static int ParseStatusLine(ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<byte> prefix = "HTTP/1."u8;
        int check = Math.Min(data.Length, prefix.Length);
        if (!data[..check].SequenceEqual(prefix[..check])) return -1;
        if (data.Length < 12) return data.IndexOf((byte)'\n') >= 0 ? -1 : 0;
        if (!char.IsAsciiDigit((char)data[7]) || data[8] != (byte)' ') return -1;
        int code = 0;
        for (int i = 9; i < 12; i++)
        {
            if (!char.IsAsciiDigit((char)data[i])) return -1;
            code = code * 10 + (data[i] - '0');
        }
        if (code < 100) return -1;
        if (data.Length > 12 && data[12] != (byte)' ' && data[12] != (byte)'\r') return -1;
        // Only a complete line counts, so a status is never taken from a truncated read.
        return data.IndexOf((byte)'\n') >= 0 ? code : 0;
    }
}
