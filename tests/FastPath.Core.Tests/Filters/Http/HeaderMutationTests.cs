// Header operations on the header store (Istio semantics: set replaces, add appends, remove deletes), as the origin
// and the client would see them once the head is written, and without allocating once warm.
using System.Buffers;
using System.Text;
using FastPath.Filters.Http;
using FastPath.Http;
using FastPath.Http1;

namespace FastPath.Core.Tests.Filters.Http;

public class HeaderMutationTests
{
    private const string Request = "GET / HTTP/1.1\r\nHost: a.example\r\nX-Env: prod\r\nX-Env: blue\r\nX-Debug: 1\r\nAccept: */*\r\n\r\n";

    [Fact]
    public void Apply_SetExistingName_ReplacesEveryValueWithOne()
    {
        HttpRequestHead head = FilterTestKit.Request(Request);
        new HeaderMutation([], [new("x-env", "canary")], []).Apply(head.Headers);
        Assert.Equal(["canary"], FilterTestKit.Values(head.Headers, "x-env"));
    }

    [Fact]
    public void Apply_SetIsCaseInsensitiveOnNames()
    {
        HttpRequestHead head = FilterTestKit.Request(Request);
        new HeaderMutation([], [new("X-ENV", "canary")], []).Apply(head.Headers);
        Assert.Equal(["canary"], FilterTestKit.Values(head.Headers, "x-env"));
    }

    [Fact]
    public void Apply_Add_AppendsKeepingExisting()
    {
        HttpRequestHead head = FilterTestKit.Request(Request);
        new HeaderMutation([], [], [new("x-env", "green"), new("x-new", "v")]).Apply(head.Headers);
        Assert.Equal(["prod", "blue", "green"], FilterTestKit.Values(head.Headers, "x-env"));
        Assert.Equal(["v"], FilterTestKit.Values(head.Headers, "x-new"));
    }

    [Fact]
    public void Apply_Remove_DeletesEveryValue_OthersUntouched()
    {
        HttpRequestHead head = FilterTestKit.Request(Request);
        new HeaderMutation(["x-env", "absent"], [], []).Apply(head.Headers);
        Assert.Empty(FilterTestKit.Values(head.Headers, "x-env"));
        Assert.Equal(["1"], FilterTestKit.Values(head.Headers, "x-debug"));
    }

    [Fact]
    public void Apply_RemoveThenSetThenAdd_InThatOrder()
    {
        HttpRequestHead head = FilterTestKit.Request(Request);
        new HeaderMutation(["x-debug"], [new("x-debug", "0")], [new("x-debug", "2")]).Apply(head.Headers);
        Assert.Equal(["0", "2"], FilterTestKit.Values(head.Headers, "x-debug"));
    }

    [Fact]
    public void WriteRequestHead_AfterMutation_OriginSeesTheChangedFields()
    {
        HttpRequestHead head = FilterTestKit.Request(Request);
        new HeaderMutation(["x-debug"], [new("x-env", "canary")], [new("x-added", "yes")]).Apply(head.Headers);
        var writer = new ArrayBufferWriter<byte>();
        Http1HeadWriter.WriteRequestHead(writer, head, head.Framing, new ForwardedFields { ClientAddress = "1.2.3.4"u8, Scheme = "http"u8, RequestId = "id"u8 });
        string text = Encoding.ASCII.GetString(writer.WrittenSpan);

        Assert.Contains("x-env: canary\r\n", text);
        Assert.DoesNotContain("prod", text);
        Assert.DoesNotContain("X-Debug", text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("x-added: yes\r\n", text);
    }

    [Fact]
    public void Filter_ResponseHeaders_HostThenRouteSoRouteWins()
    {
        var host = new HeaderMutation([], [new("x-served-by", "host")], []);
        var route = new HeaderMutation(["server"], [new("x-served-by", "route")], []);
        var chain = new HttpFilterChain([new HeaderMutationFilterFactory([], [host, route])]);
        HttpResponseHead response = FilterTestKit.Response(FilterTestKit.Ok);
        HttpFilterManager stream = FilterTestKit.Start(chain, FilterTestKit.Request(Request), response);

        stream.DecodeHeaders();
        stream.EncodeHeaders();

        Assert.Equal(["route"], FilterTestKit.Values(response.Headers, "x-served-by"));
        Assert.Empty(FilterTestKit.Values(response.Headers, "server"));
    }

    [Fact]
    public void Apply_WarmHeaderBlock_AllocatesNothing()
    {
        var mutation = new HeaderMutation(["x-debug"], [new("x-env", "canary")], [new("x-added", "yes")]);
        var head = new HttpRequestHead();
        for (int i = 0; i < 100; i++) MutateOnce(head, mutation);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) MutateOnce(head, mutation);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static readonly byte[] RequestBytes = Encoding.ASCII.GetBytes(Request);

    private static void MutateOnce(HttpRequestHead head, HeaderMutation mutation)
    {
        head.Reset();
        var handler = new Http1RequestHandler(head);
        var state = new Http1HeadParseState();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(RequestBytes));
        Http1Parser.ParseHead(ref reader, ref handler, ref state, Http1Limits.Default, out _);
        handler.Complete();
        mutation.Apply(head.Headers);
    }
}
