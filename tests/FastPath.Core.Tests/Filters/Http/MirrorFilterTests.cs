// Request mirroring, driven through the filter API and the real body codec: the shadow host (Envoy's "-shadow"
// suffix, before any port), body copies collected while the body streams and sent at its end with content-length
// framing to a real socket standing in for the shadow cluster, the max_body_bytes limit (known up front or found
// mid-stream), and pooled buffers given back on every path (sent, skipped, dropped, abandoned by a reset).
using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastPath.Config;
using FastPath.Filters.Http;
using FastPath.Http;
using FastPath.Http1;
using FastPath.LoadBalancing;
using FastPath.Observability.Stats;
using FastPath.Transport;
using FastPath.Upstream;
using FastPath.Upstream.Clusters;
using FastPath.Upstream.Pools;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastPath.Core.Tests.Filters.Http;

public sealed class MirrorFilterTests : IDisposable
{
    private const string PostHead = "POST /orders?id=7 HTTP/1.1\r\nHost: shop.example.com:8080\r\nX-Request-Id: copy-1\r\n";
    private static readonly UpstreamConnector Connector = new(NullLoggerFactory.Instance);
    private static int s_clusters;

    private readonly ShadowListener _shadow = new();

    public void Dispose() => _shadow.Dispose();

    [Theory]
    [InlineData("api.example.com", "api.example.com-shadow")]
    [InlineData("api.example.com:8080", "api.example.com-shadow:8080")]
    [InlineData("10.0.0.1:80", "10.0.0.1-shadow:80")]
    [InlineData("[::1]:8443", "[::1]-shadow:8443")]
    [InlineData("[::1]", "[::1]-shadow")]
    public void ShadowHost_SuffixBeforePort(string authority, string expected)
    {
        byte[] destination = new byte[authority.Length + 7];
        int n = MirrorFilter.ShadowHost(Encoding.ASCII.GetBytes(authority), destination);
        Assert.Equal(expected, Encoding.ASCII.GetString(destination, 0, n));
    }

    [Fact]
    public async Task OnRequestData_ContentLengthBody_CopySentAtBodyEndWithSameBytes()
    {
        MirrorFilterFactory factory = Factory();
        HttpFilterManager stream = Start(factory, PostHead + "Content-Length: 11\r\n\r\n");
        var body = new BodyFeed(stream);

        Assert.Equal(BodyStep.NeedMore, body.Feed("hello"));
        Assert.False(_shadow.HasConnection);          // nothing leaves before the body is complete
        Assert.Equal(0, factory.InFlight);            // and max_in_flight is not taken yet
        Assert.Equal(BodyStep.Done, body.Feed(" world"));

        (string head, byte[] copy) = await _shadow.ReceiveAsync();
        Assert.StartsWith("POST /orders?id=7 HTTP/1.1\r\n", head);
        Assert.Contains("host: shop.example.com-shadow:8080\r\n", head);
        Assert.Contains("x-request-id: copy-1\r\n", head);
        Assert.Contains("content-length: 11\r\n", head);
        Assert.DoesNotContain("transfer-encoding", head);
        Assert.Equal("hello world", Encoding.ASCII.GetString(copy));
        Assert.Equal("hello world", body.Forwarded);  // the main body is forwarded unchanged
        await WaitAsync(() => factory.Sent.Value == 1 && factory.BuffersHeld == 0 && factory.InFlight == 0);
    }

    [Fact]
    public async Task OnRequestData_ChunkedBodyWithTrailers_CopyFramedByContentLengthWithoutTrailers()
    {
        MirrorFilterFactory factory = Factory();
        HttpFilterManager stream = Start(factory, PostHead + "Transfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n");
        var body = new BodyFeed(stream, BodyFraming.Chunked);

        body.Feed("5\r\nhel");
        body.Feed("lo\r\n6;ext=1\r\n world\r\n");
        Assert.False(_shadow.HasConnection);
        Assert.Equal(BodyStep.Done, body.Feed("0\r\nx-checksum: 42\r\n\r\n"));

        (string head, byte[] copy) = await _shadow.ReceiveAsync();
        Assert.Contains("content-length: 11\r\n", head);
        Assert.DoesNotContain("transfer-encoding", head, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("x-checksum", head);   // neither the trailer nor its announcement (Trailer: x-checksum)
        Assert.Equal(["x-checksum"], FilterTestKit.Values(stream.Request.Headers, "trailer"));   // the main request keeps it
        Assert.Equal("hello world", Encoding.ASCII.GetString(copy));
        // The main upstream still gets a chunked body (re-chunked as the pieces arrived) with its trailers.
        Assert.Equal("3\r\nhel\r\n2\r\nlo\r\n6\r\n world\r\n0\r\nx-checksum: 42\r\n\r\n", body.Forwarded);
        await WaitAsync(() => factory.Sent.Value == 1 && factory.BuffersHeld == 0);
    }

    [Fact]
    public async Task OnRequestData_ChunkedBodyLargerThanFirstBuffer_CopyHasEveryByte()
    {
        MirrorFilterFactory factory = Factory(maxBodyBytes: 20_000);
        HttpFilterManager stream = Start(factory, PostHead + "Transfer-Encoding: chunked\r\n\r\n");
        var body = new BodyFeed(stream, BodyFraming.Chunked);
        byte[] expected = new byte[20_000];
        new Random(7).NextBytes(expected);

        for (int at = 0; at < expected.Length; at += 3_000)
        {
            int n = Math.Min(3_000, expected.Length - at);
            body.Feed([.. Encoding.ASCII.GetBytes($"{n:x}\r\n"), .. expected.AsSpan(at, n), .. "\r\n"u8]);
        }
        Assert.Equal(BodyStep.Done, body.Feed("0\r\n\r\n"));

        (string head, byte[] copy) = await _shadow.ReceiveAsync();
        Assert.Contains("content-length: 20000\r\n", head);
        Assert.Equal(expected, copy);
        await WaitAsync(() => factory.Sent.Value == 1 && factory.BuffersHeld == 0);
    }

    [Fact]
    public async Task OnRequestHeaders_ContentLengthOverLimit_SkippedAtOnceWithoutBuffering()
    {
        MirrorFilterFactory factory = Factory(maxBodyBytes: 8);
        HttpFilterManager stream = Start(factory, PostHead + "Content-Length: 11\r\n\r\n");

        Assert.Equal(1, factory.SkippedBody.Value);
        Assert.Equal(0, factory.BuffersHeld);
        var body = new BodyFeed(stream);
        Assert.Equal(BodyStep.Done, body.Feed("hello world"));
        Assert.Equal("hello world", body.Forwarded);
        await Task.Delay(100);
        Assert.False(_shadow.HasConnection);
        Assert.Equal(0, factory.Sent.Value);
    }

    [Fact]
    public async Task OnRequestData_ChunkedBodyGrowsPastLimit_CopyAbandonedAndMainBodyIntact()
    {
        MirrorFilterFactory factory = Factory(maxBodyBytes: 8);
        HttpFilterManager stream = Start(factory, PostHead + "Transfer-Encoding: chunked\r\n\r\n");
        var body = new BodyFeed(stream, BodyFraming.Chunked);

        body.Feed("5\r\nhello\r\n");
        Assert.Equal(2, factory.BuffersHeld);         // the head and the body so far
        body.Feed("6\r\n world\r\n");
        Assert.Equal(0, factory.BuffersHeld);         // past 8 bytes: given back at once, not at the body's end
        Assert.Equal(1, factory.SkippedBody.Value);
        Assert.Equal(BodyStep.Done, body.Feed("0\r\n\r\n"));

        Assert.Equal("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", body.Forwarded);
        stream.End();
        Assert.Equal(1, factory.SkippedBody.Value);   // counted once
        await Task.Delay(100);
        Assert.False(_shadow.HasConnection);
    }

    [Fact]
    public async Task Reset_MidBody_BuffersReturnedNothingSent_NextStreamMirroredCleanly()
    {
        MirrorFilterFactory factory = Factory();
        var chain = new HttpFilterChain([factory]);
        HttpFilterManager stream = FilterTestKit.Start(chain, FilterTestKit.Request(PostHead + "Content-Length: 11\r\n\r\n"));
        Assert.Equal(FilterHeadersStatus.Continue, stream.DecodeHeaders());
        new BodyFeed(stream).Feed("hel");             // the client goes away here

        stream.End();                                 // the exchange ends: every filter is reset

        Assert.Equal(0, factory.BuffersHeld);
        Assert.Equal(1, factory.SkippedBody.Value);
        Assert.False(_shadow.HasConnection);

        // The same (kept) filter instance serves the next stream with nothing of the first left over.
        stream.Begin(chain, FilterTestKit.Request(PostHead + "Content-Length: 4\r\n\r\n"), new HttpResponseHead(), FilterTestKit.ClientAddress);
        stream.DecodeHeaders();
        Assert.Equal(BodyStep.Done, new BodyFeed(stream).Feed("next"));
        (string head, byte[] copy) = await _shadow.ReceiveAsync();
        Assert.Contains("content-length: 4\r\n", head);
        Assert.Equal("next", Encoding.ASCII.GetString(copy));
        await WaitAsync(() => factory.Sent.Value == 1 && factory.BuffersHeld == 0);
    }

    [Fact]
    public void Release_MidBody_BuffersReturned()
    {
        MirrorFilterFactory factory = Factory();
        HttpFilterManager stream = Start(factory, PostHead + "Transfer-Encoding: chunked\r\n\r\n");
        new BodyFeed(stream, BodyFraming.Chunked).Feed("5\r\nhello\r\n");
        Assert.Equal(2, factory.BuffersHeld);

        stream.ReleaseFilters();                      // the exchange is dropped: filters go back to the factory's pool

        Assert.Equal(0, factory.BuffersHeld);
        Assert.Equal(1, factory.SkippedBody.Value);
    }

    [Fact]
    public async Task OnRequestHeaders_MaxBodyBytesZero_NoBodyHooksAndBodiesSkipped_BodylessStillMirrored()
    {
        MirrorFilterFactory factory = Factory(maxBodyBytes: 0);
        var chain = new HttpFilterChain([factory]);
        Assert.False(chain.WantsRequestBody);         // bodies stream untouched, as before

        HttpFilterManager post = FilterTestKit.Start(chain, FilterTestKit.Request(PostHead + "Transfer-Encoding: chunked\r\n\r\n"));
        post.DecodeHeaders();
        Assert.Null(post.RequestBodyTap);
        Assert.Equal(1, factory.SkippedBody.Value);

        HttpFilterManager get = FilterTestKit.Start(chain, FilterTestKit.Request(FilterTestKit.Get));
        get.DecodeHeaders();
        (string head, byte[] copy) = await _shadow.ReceiveAsync();
        Assert.StartsWith("GET /api/items HTTP/1.1\r\n", head);
        Assert.DoesNotContain("content-length", head);
        Assert.Empty(copy);
        await WaitAsync(() => factory.Sent.Value == 1 && factory.BuffersHeld == 0);
    }

    [Fact]
    public async Task OnRequestHeaders_ContentLengthZero_MirroredAtOnceWithZeroLength()
    {
        MirrorFilterFactory factory = Factory();
        Start(factory, PostHead + "Content-Length: 0\r\n\r\n");

        (string head, byte[] copy) = await _shadow.ReceiveAsync();
        Assert.Contains("content-length: 0\r\n", head);
        Assert.Empty(copy);
        await WaitAsync(() => factory.Sent.Value == 1 && factory.BuffersHeld == 0);
    }

    [Fact]
    public async Task OnRequestData_MaxInFlightReachedAtBodyEnd_CopyDroppedAndBuffersReturned()
    {
        MirrorFilterFactory factory = Factory(maxInFlight: 1);
        Start(factory, FilterTestKit.Get);            // its copy waits, unanswered, for the listener to accept it
        await WaitAsync(() => _shadow.HasConnection);
        Assert.Equal(1, factory.InFlight);

        HttpFilterManager post = Start(factory, PostHead + "Content-Length: 5\r\n\r\n");
        Assert.Equal(BodyStep.Done, new BodyFeed(post).Feed("hello"));

        Assert.Equal(1, factory.Dropped.Value);
        Assert.Equal(1, factory.BuffersHeld);         // only the GET copy's head, still being sent
        (string head, _) = await _shadow.ReceiveAsync();
        Assert.StartsWith("GET ", head);
        await WaitAsync(() => factory.Sent.Value == 1 && factory.BuffersHeld == 0 && factory.InFlight == 0);
    }

    private MirrorFilterFactory Factory(int maxBodyBytes = 64 * 1024, int maxInFlight = 4)
    {
        // A cluster name of its own per test: the result counters are process-wide, labelled by cluster.
        string name = $"mirror-test-{Interlocked.Increment(ref s_clusters)}";
        IPEndPoint address = _shadow.Address;
        var pool = new Http1ConnectionPool(name, address, Connector, new PoolSettings(4, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60)));
        var endpoint = new UpstreamEndpoint("127.0.0.1", address.Port, 1, address, pool);
        var cluster = new Cluster(new ClusterConfig { Name = name }, [endpoint], new ClusterStats(name));
        return new MirrorFilterFactory(cluster, 100, maxInFlight, TimeSpan.FromSeconds(10), maxBodyBytes, new SeededRandom(1));
    }

    private static HttpFilterManager Start(MirrorFilterFactory factory, string head)
    {
        HttpFilterManager stream = FilterTestKit.Start(new HttpFilterChain([factory]), FilterTestKit.Request(head));
        Assert.Equal(FilterHeadersStatus.Continue, stream.DecodeHeaders());
        return stream;
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++) await Task.Delay(25);
        Assert.True(condition(), "condition not met within 5 s");
    }

    /// <summary>The main request's body going through the real codec (as the connection's body copy drives it), with
    /// the stream's body tap: what was forwarded, and bytes a step did not consume kept for the next piece.</summary>
    private sealed class BodyFeed(HttpFilterManager stream, BodyFraming framing = BodyFraming.ContentLength)
    {
        private Http1BodyForwarder _forwarder = new(stream.Request.Framing, stream.Request.ContentLength, framing, new HttpHeaderBlock(),
            Http1Limits.Default, stream.RequestBodyTap);
        private readonly ArrayBufferWriter<byte> _output = new();
        private byte[] _pending = [];

        public string Forwarded => Encoding.ASCII.GetString(_output.WrittenSpan);

        public BodyStep Feed(string ascii) => Feed(Encoding.ASCII.GetBytes(ascii));

        public BodyStep Feed(byte[] piece)
        {
            var buffer = new ReadOnlySequence<byte>([.. _pending, .. piece]);
            BodyStep step = _forwarder.Step(buffer, isCompleted: false, _output, out SequencePosition consumed);
            _pending = buffer.Slice(consumed).ToArray();
            return step;
        }
    }

    /// <summary>The shadow cluster's one endpoint: accepts a copy, reads its head and content-length body, answers 200.</summary>
    private sealed class ShadowListener : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

        public ShadowListener() => _listener.Start();

        public IPEndPoint Address => (IPEndPoint)_listener.LocalEndpoint;

        /// <summary>Whether a copy's connection waits to be accepted.</summary>
        public bool HasConnection => _listener.Pending();

        public async Task<(string Head, byte[] Body)> ReceiveAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            using Socket socket = await _listener.AcceptSocketAsync(timeout.Token);
            var received = new List<byte>();
            byte[] buffer = new byte[8192];
            int headEnd;
            while ((headEnd = IndexOfEmptyLine(received)) < 0)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 0) throw new IOException("closed before the end of the head");
                received.AddRange(buffer.AsSpan(0, n));
            }
            string head = Encoding.ASCII.GetString(received.GetRange(0, headEnd + 4).ToArray());
            int length = 0;
            foreach (string line in head.Split("\r\n"))
                if (line.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase)) length = int.Parse(line[15..].Trim());
            while (received.Count < headEnd + 4 + length)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 0) throw new IOException("closed inside the body");
                received.AddRange(buffer.AsSpan(0, n));
            }
            await socket.SendAsync("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"u8.ToArray(), SocketFlags.None, timeout.Token);
            return (head, received.GetRange(headEnd + 4, received.Count - headEnd - 4).ToArray());
        }

        private static int IndexOfEmptyLine(List<byte> bytes)
        {
            for (int i = 0; i + 3 < bytes.Count; i++)
                if (bytes[i] == '\r' && bytes[i + 1] == '\n' && bytes[i + 2] == '\r' && bytes[i + 3] == '\n') return i;
            return -1;
        }

        public void Dispose() => _listener.Stop();
    }
}
