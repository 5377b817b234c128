// A raw HTTP/1.1 client connection: sends exactly the bytes a test writes (pipelined, malformed, chunked with
// trailers) and parses responses strictly, with a deadline on every read so a test can never hang.
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastPath.EndToEnd.Testing;

public sealed class RawResponse
{
    public int Status { get; init; }
    public string Reason { get; init; } = "";
    public string Version { get; init; } = "";
    public List<KeyValuePair<string, string>> Headers { get; } = [];
    public List<KeyValuePair<string, string>> Trailers { get; } = [];
    public byte[] Body { get; set; } = [];
    public bool Chunked { get; set; }

    public string BodyText => Encoding.UTF8.GetString(Body);

    public string? Header(string name) => Find(Headers, name);

    public string? Trailer(string name) => Find(Trailers, name);

    /// <summary>Whether the response says the server will close the connection after it.</summary>
    public bool ConnectionClose => Header("connection")?.Contains("close", StringComparison.OrdinalIgnoreCase) == true;

    private static string? Find(List<KeyValuePair<string, string>> fields, string name)
    {
        string[] values = fields.Where(f => string.Equals(f.Key, name, StringComparison.OrdinalIgnoreCase)).Select(f => f.Value).ToArray();
        return values.Length == 0 ? null : string.Join(", ", values);
    }

    public override string ToString()
    {
        var s = new StringBuilder($"{Version} {Status} {Reason}\n");
        foreach (var h in Headers) s.Append(h.Key).Append(": ").Append(h.Value).Append('\n');
        s.Append('\n').Append(Body.Length > 512 ? BodyText[..512] + "..." : BodyText);
        return s.ToString();
    }
}

public sealed class RawHttpConnection : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    private readonly Socket _socket;
    private readonly HttpWireReader _reader;

    private RawHttpConnection(Socket socket)
    {
        _socket = socket;
        _reader = new HttpWireReader(new NetworkStream(socket, ownsSocket: false));
    }

    public TimeSpan Timeout { get; set; } = DefaultTimeout;
    public Socket Socket => _socket;

    public static async Task<RawHttpConnection> ConnectAsync(int port, TimeSpan? timeout = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new RawHttpConnection(socket);
    }

    public Task SendAsync(string ascii) => SendAsync(Encoding.ASCII.GetBytes(ascii));

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (!bytes.IsEmpty)
        {
            int n = await _socket.SendAsync(bytes, SocketFlags.None, cts.Token);
            bytes = bytes[n..];
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> raw bytes (a non-HTTP/1.1 answer, such as an HTTP/2 frame).</summary>
    public async Task<byte[]> ReadExactAsync(int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var bytes = new MemoryStream();
        await _reader.ReadExactAsync(count, bytes, cts.Token);
        return bytes.ToArray();
    }

    /// <summary>Reads the next response, interim (1xx) ones included. Body framing per RFC 9112 §6.3.</summary>
    public async Task<RawResponse> ReadResponseAsync(bool requestWasHead = false, Stream? bodySink = null)
    {
        using var cts = new CancellationTokenSource(Timeout);
        CancellationToken token = cts.Token;
        try
        {
            string statusLine = await _reader.ReadLineAsync(token)
                ?? throw new EndOfStreamException("connection closed before a response");
            string[] parts = statusLine.Split(' ', 3);
            if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal))
                throw new InvalidDataException($"not a status line: '{statusLine}'");
            var response = new RawResponse
            {
                Version = parts[0],
                Status = int.Parse(parts[1], CultureInfo.InvariantCulture),
                Reason = parts.Length > 2 ? parts[2] : "",
            };
            await ReadFieldsAsync(response.Headers, token);

            int status = response.Status;
            if (requestWasHead || status < 200 || status == 204 || status == 304) return response;

            var body = new MemoryStream();
            Stream sink = bodySink ?? body;
            string? te = response.Header("transfer-encoding");
            string? cl = response.Header("content-length");
            if (te is not null && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            {
                response.Chunked = true;
                while (true)
                {
                    string sizeLine = await _reader.ReadLineAsync(token) ?? throw new EndOfStreamException("closed inside a chunked body");
                    int semi = sizeLine.IndexOf(';');
                    long size = long.Parse(semi < 0 ? sizeLine : sizeLine[..semi], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    if (size == 0) break;
                    await _reader.ReadExactAsync(size, sink, token);
                    string crlf = await _reader.ReadLineAsync(token) ?? throw new EndOfStreamException("closed after chunk data");
                    if (crlf.Length != 0) throw new InvalidDataException("chunk data not followed by CRLF");
                }
                await ReadFieldsAsync(response.Trailers, token);
            }
            else if (cl is not null)
            {
                await _reader.ReadExactAsync(long.Parse(cl, CultureInfo.InvariantCulture), sink, token);
            }
            else
            {
                await _reader.ReadToEndAsync(sink, token);
            }
            response.Body = body.ToArray();
            return response;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"no complete response within {Timeout.TotalSeconds:0.#}s");
        }
    }

    /// <summary>Reads the final response, skipping (and returning) interim 1xx responses.</summary>
    public async Task<(RawResponse Final, List<RawResponse> Interim)> ReadFinalResponseAsync(bool requestWasHead = false)
    {
        var interim = new List<RawResponse>();
        while (true)
        {
            RawResponse r = await ReadResponseAsync(requestWasHead);
            if (r.Status >= 200 || r.Status == 101) return (r, interim);
            interim.Add(r);
        }
    }

    private async Task ReadFieldsAsync(List<KeyValuePair<string, string>> into, CancellationToken token)
    {
        while (true)
        {
            string line = await _reader.ReadLineAsync(token) ?? throw new EndOfStreamException("connection closed inside a message head");
            if (line.Length == 0) return;
            int colon = line.IndexOf(':');
            if (colon <= 0) throw new InvalidDataException($"bad field line '{line}'");
            into.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }
    }

    /// <summary>
    /// Whether the server closes the connection (EOF or reset) within the timeout, with no further bytes.
    /// Returns false if it stays open or sends more data.
    /// </summary>
    public async Task<bool> IsClosedByPeerAsync(TimeSpan within)
    {
        using var cts = new CancellationTokenSource(within);
        try
        {
            if (_reader.Buffered > 0) return false;
            long extra = await _reader.ReadToEndAsync(null, cts.Token);
            return extra == 0;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return true; // reset counts as closed
        }
    }

    /// <summary>Sends one request and reads its final response (interim responses are skipped).</summary>
    public async Task<RawResponse> RoundTripAsync(string request)
    {
        await SendAsync(request);
        return (await ReadFinalResponseAsync(request.StartsWith("HEAD ", StringComparison.Ordinal))).Final;
    }

    /// <summary>One request on a fresh connection.</summary>
    public static async Task<RawResponse> SendOnceAsync(int port, string request, TimeSpan? timeout = null)
    {
        await using RawHttpConnection c = await ConnectAsync(port);
        if (timeout is { } t) c.Timeout = t;
        return await c.RoundTripAsync(request);
    }

    /// <summary>A GET request head with Host: localhost and the given extra field lines.</summary>
    public static string Get(string path, params string[] extraHeaders)
    {
        var s = new StringBuilder($"GET {path} HTTP/1.1\r\nHost: localhost\r\n");
        foreach (string h in extraHeaders) s.Append(h).Append("\r\n");
        return s.Append("\r\n").ToString();
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
