// DuplexPipeStream's read contract under SslStream: reads stop at TLS record ends (so SslStream never holds bytes of
// a record it has not been asked for, which TlsStream's short-cut wait relies on), a header split across reads is
// followed, and WaitForDataAsync completes when bytes arrive without consuming them.
using System.IO.Pipelines;
using FastPath.Tls;

namespace FastPath.Core.Tests.Tls;

public class DuplexPipeStreamTests
{
    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    private static (DuplexPipeStream Stream, PipeWriter Network) Create()
    {
        var incoming = new Pipe(new PipeOptions(useSynchronizationContext: false));
        var outgoing = new Pipe(new PipeOptions(useSynchronizationContext: false));
        return (new DuplexPipeStream(new Duplex(incoming.Reader, outgoing.Writer)), incoming.Writer);
    }

    /// <summary>A TLS record: type 23 (application data), version 3.3, length, body of <paramref name="length"/> bytes of <paramref name="fill"/>.</summary>
    private static byte[] Record(int length, byte fill) =>
        [23, 3, 3, (byte)(length >> 8), (byte)length, .. Enumerable.Repeat(fill, length)];

    [Fact]
    public async Task Read_StopsAtTheEndOfEachRecord_EvenWithMoreBuffered()
    {
        var (stream, network) = Create();
        byte[] first = Record(300, 1), second = Record(70_000 % 16_384, 2), third = Record(0, 0);
        await network.WriteAsync((byte[])[.. first, .. second, .. third]);
        byte[] buffer = new byte[64 * 1024];

        Assert.Equal(first.Length, await stream.ReadAsync(buffer));
        Assert.Equal(first, buffer[..first.Length]);
        Assert.Equal(second.Length, await stream.ReadAsync(buffer));
        Assert.Equal(second, buffer[..second.Length]);
        Assert.Equal(third.Length, await stream.ReadAsync(buffer)); // an empty record is its header alone
    }

    [Fact]
    public async Task Read_FollowsARecordSplitAnywhere_IncludingInsideItsHeader()
    {
        byte[] records = [.. Record(1000, 7), .. Record(5, 8)];
        for (int split = 1; split < records.Length; split += split < 12 ? 1 : 97)
        {
            var (stream, network) = Create();
            await network.WriteAsync(records.AsMemory(0, split));
            var got = new List<int>();
            byte[] buffer = new byte[4096];
            int total = 0;
            int n = await stream.ReadAsync(buffer);
            got.Add(n);
            total += n;
            await network.WriteAsync(records.AsMemory(split));
            while (total < records.Length)
            {
                n = await stream.ReadAsync(buffer);
                Assert.True(n > 0);
                got.Add(n);
                total += n;
            }
            // Every read ends at or before a record end: 1005 (first record) then 10 more.
            int position = 0;
            foreach (int length in got)
            {
                int recordEnd = position < 1005 ? 1005 : 1015;
                Assert.True(position + length <= recordEnd, $"split {split}: a read crossed the record end at {recordEnd} ({string.Join(",", got)})");
                position += length;
            }
            Assert.Equal(records.Length, position);
        }
    }

    [Fact]
    public async Task WaitForData_CompletesWhenBytesArrive_AndConsumesNothing()
    {
        var (stream, network) = Create();
        ValueTask<int> wait = stream.WaitForDataAsync(CancellationToken.None);
        Assert.False(wait.IsCompleted);
        byte[] record = Record(10, 9);
        await network.WriteAsync(record);
        Assert.Equal(0, await wait);

        // The same bytes are still there for the read, and a second wait with bytes buffered completes at once.
        Assert.True(stream.WaitForDataAsync(CancellationToken.None).IsCompletedSuccessfully);
        byte[] buffer = new byte[100];
        Assert.Equal(record.Length, await stream.ReadAsync(buffer));
        Assert.Equal(record, buffer[..record.Length]);
    }

    [Fact]
    public async Task WaitForData_CompletesAtTheEndOfTheStream()
    {
        var (stream, network) = Create();
        ValueTask<int> wait = stream.WaitForDataAsync(CancellationToken.None);
        await network.CompleteAsync();
        Assert.Equal(0, await wait);
        Assert.Equal(0, await stream.ReadAsync(new byte[10]));
    }
}
