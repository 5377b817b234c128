// The per-request codec paths allocate nothing once warm (STYLE.md, hot paths): parsing a typical head into a pooled
// HttpRequestHead, and writing the forwarded head into a buffer that is reused. Measured on this thread only, so
// other tests running in parallel do not count.
using System.Buffers;
using System.Runtime.CompilerServices;
using FastPath.Core.Tests.Testing;
using FastPath.Http;
using FastPath.Http1;

namespace FastPath.Core.Tests.Http1;

public class Http1AllocationTests
{
    private const int Iterations = 1000;
    private static readonly byte[] Request = System.Text.Encoding.ASCII.GetBytes(Http1RequestCases.BrowserGet);

    [Fact]
    public void ParseHead_TypicalRequestAfterWarmUp_AllocatesNothing()
    {
        Assert.InRange(Request.Length, 450, 560);
        var head = new HttpRequestHead();
        for (int i = 0; i < Iterations; i++) ParseOnce(head); // warm-up: JIT, statics, pooled buffers

        long allocated = ThreadAllocations.Fewest(() =>
        {
            for (int i = 0; i < Iterations; i++) ParseOnce(head);
        });

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void WriteRequestHead_ReusedBufferAfterWarmUp_AllocatesNothing()
    {
        var head = new HttpRequestHead();
        ParseOnce(head);
        var writer = new ArrayBufferWriter<byte>(4096);
        byte[] requestId = "2f1c5e0a-7b7d-4b0e-9a51-3d1f0c2b9e77"u8.ToArray();
        for (int i = 0; i < Iterations; i++) WriteOnce(head, writer, requestId);

        long allocated = ThreadAllocations.Fewest(() =>
        {
            for (int i = 0; i < Iterations; i++) WriteOnce(head, writer, requestId);
        });

        Assert.Equal(0, allocated);
        Assert.True(writer.WrittenCount > Request.Length / 2);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ParseOnce(HttpRequestHead head)
    {
        head.Reset();
        var handler = new Http1RequestHandler(head);
        var state = new Http1HeadParseState();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Request));
        Http1ParseResult result = Http1Parser.ParseHead(ref reader, ref handler, ref state, Http1Limits.Default, out _);
        if (result != Http1ParseResult.Complete || handler.Complete() != RequestRejectionReason.None)
            throw new InvalidOperationException("the typical request must parse");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WriteOnce(HttpRequestHead head, ArrayBufferWriter<byte> writer, byte[] requestId)
    {
        writer.ResetWrittenCount();
        var fwd = new ForwardedFields
        {
            ClientAddress = "192.0.2.10"u8,
            Scheme = "http"u8,
            RequestId = requestId,
            Via = "1.1 fastpath"u8,
            FallbackHost = "10.0.0.1:8080"u8,
        };
        Http1HeadWriter.WriteRequestHead(writer, head, head.Framing, in fwd);
    }
}
