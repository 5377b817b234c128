// A TCP origin that speaks whatever bytes a test scripts: hostile or unusual upstream behaviour (reset before the
// response head, close-delimited bodies, trailers, slow answers) that a real server will not produce on demand.
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastPath.EndToEnd.Testing;

/// <summary>One accepted connection: its socket and a buffered reader over it.</summary>
public sealed class RawOriginConnection(Socket socket, CancellationToken token)
{
    private readonly HttpWireReader _reader = new(new NetworkStream(socket, ownsSocket: false));

    public Socket Socket { get; } = socket;
    public CancellationToken Token { get; } = token;

    /// <summary>Reads a request head (request line and fields) up to the empty line; null when the peer closed first.</summary>
    public async Task<string?> ReadHeadAsync()
    {
        var head = new StringBuilder();
        while (true)
        {
            string? line = await _reader.ReadLineAsync(Token);
            if (line is null) return head.Length == 0 ? null : head.ToString();
            if (line.Length == 0) return head.ToString();
            head.Append(line).Append("\r\n");
        }
    }

    /// <summary>Reads exactly <paramref name="length"/> body bytes (a Content-Length body after its head).</summary>
    public async Task<byte[]> ReadBodyAsync(long length)
    {
        var body = new MemoryStream();
        await _reader.ReadExactAsync(length, body, Token);
        return body.ToArray();
    }

    /// <summary>Reads a chunked body to its last chunk and trailers; returns the decoded bytes.</summary>
    public async Task<byte[]> ReadChunkedBodyAsync()
    {
        var body = new MemoryStream();
        while (true)
        {
            string line = await _reader.ReadLineAsync(Token) ?? throw new IOException("closed inside a chunked body");
            int size = Convert.ToInt32(line.Split(';')[0].Trim(), 16);
            if (size == 0)
            {
                while (!string.IsNullOrEmpty(await _reader.ReadLineAsync(Token))) { } // trailers up to the empty line
                return body.ToArray();
            }
            await _reader.ReadExactAsync(size, body, Token);
            await _reader.ReadLineAsync(Token);
        }
    }

    public Task WriteAsync(string ascii) => WriteAsync(Encoding.ASCII.GetBytes(ascii));

    public async Task WriteAsync(byte[] bytes) => await Socket.SendAsync(bytes, SocketFlags.None, Token);

    /// <summary>Closes with RST instead of FIN (SO_LINGER 0).</summary>
    public void Reset()
    {
        Socket.LingerState = new LingerOption(true, 0);
        Socket.Close();
    }

    public void Close()
    {
        try { Socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { }
        Socket.Close();
    }
}

public sealed class RawOrigin : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<RawOriginConnection, Task> _handler;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _connections;

    /// <param name="handler">Runs once per accepted connection; the socket is closed when it returns.</param>
    public RawOrigin(Func<RawOriginConnection, Task> handler)
    {
        _handler = handler;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port { get; }
    public string Address => $"127.0.0.1:{Port}";
    public int ConnectionCount => Volatile.Read(ref _connections);

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
        // No scripted connection may outlive a test: 60 s is far beyond any single exchange here.
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        cts.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await _handler(new RawOriginConnection(socket, cts.Token));
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            socket.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _acceptLoop;
        _stop.Dispose();
    }
}
