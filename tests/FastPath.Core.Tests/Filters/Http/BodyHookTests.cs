// Body hooks: a chain whose filter asks for bodies gets the decoded data (no chunk framing) and the trailers, in
// order for requests and in reverse for responses, through the codec's body tap; chains that do not ask get no tap,
// so their bodies stream untouched.
using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using FastPath.Filters.Http;
using FastPath.Http;
using FastPath.Http1;
using FastPath.Transport;

namespace FastPath.Core.Tests.Filters.Http;

public class BodyHookTests
{
    private sealed class BodyFactory(string name, List<string> log) : PooledHttpFilterFactory<BodyFactory.Filter>
    {
        private readonly string _name = name;
        private readonly List<string> _log = log;

        public override bool WantsRequestBody => true;
        public override bool WantsResponseBody => true;

        protected override Filter Create() => new(this);

        internal sealed class Filter(BodyFactory factory) : HttpFilter
        {
            public override FilterDataStatus OnRequestData(HttpFilterManager stream, in ReadOnlySequence<byte> data, bool endStream)
            {
                factory._log.Add($"{factory._name}.request:{Encoding.ASCII.GetString(data.ToArray())}{(endStream ? ":end" : "")}");
                return FilterDataStatus.Continue;
            }

            public override FilterTrailersStatus OnRequestTrailers(HttpFilterManager stream, HttpHeaderBlock trailers)
            {
                factory._log.Add($"{factory._name}.request-trailers:{trailers.Count}");
                return FilterTrailersStatus.Continue;
            }

            public override FilterDataStatus OnResponseData(HttpFilterManager stream, in ReadOnlySequence<byte> data, bool endStream)
            {
                factory._log.Add($"{factory._name}.response:{Encoding.ASCII.GetString(data.ToArray())}{(endStream ? ":end" : "")}");
                return FilterDataStatus.Continue;
            }

            public override void Release() => factory.Return(this);
        }
    }

    private sealed class HeadersOnlyFactory : PooledHttpFilterFactory<HeadersOnlyFactory.Filter>
    {
        protected override Filter Create() => new(this);

        internal sealed class Filter(HeadersOnlyFactory factory) : HttpFilter
        {
            public override void Release() => factory.Return(this);
        }
    }

    [Fact]
    public void Taps_OnlyWhenAFilterWantsBodies()
    {
        var log = new List<string>();
        HttpFilterManager plain = FilterTestKit.Start(new HttpFilterChain([new HeadersOnlyFactory()]), FilterTestKit.Request(FilterTestKit.Get));
        HttpFilterManager body = FilterTestKit.Start(new HttpFilterChain([new HeadersOnlyFactory(), new BodyFactory("b", log)]), FilterTestKit.Request(FilterTestKit.Get));

        Assert.Null(plain.RequestBodyTap);
        Assert.Null(plain.ResponseBodyTap);
        Assert.NotNull(body.RequestBodyTap);
        Assert.NotNull(body.ResponseBodyTap);
    }

    [Fact]
    public void ChunkedRequestBody_FiltersSeeDecodedChunksThenEndThenTrailers_InOrder()
    {
        var log = new List<string>();
        var chain = new HttpFilterChain([new BodyFactory("a", log), new BodyFactory("b", log)]);
        HttpFilterManager stream = FilterTestKit.Start(chain, FilterTestKit.Request(FilterTestKit.Get));
        var trailers = new HttpHeaderBlock();
        var forwarder = new Http1BodyForwarder(BodyFraming.Chunked, -1, BodyFraming.Chunked, trailers, Http1Limits.Default, stream.RequestBodyTap);
        byte[] wire = Encoding.ASCII.GetBytes("5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: 42\r\n\r\n");
        var output = new ArrayBufferWriter<byte>();

        BodyStep step = forwarder.Step(new ReadOnlySequence<byte>(wire), isCompleted: false, output, out _);

        Assert.Equal(BodyStep.Done, step);
        Assert.Equal(["a.request:hello", "b.request:hello", "a.request: world", "b.request: world", "a.request::end", "b.request::end",
            "a.request-trailers:1", "b.request-trailers:1"], log);
        Assert.Equal(wire, output.WrittenSpan.ToArray());   // observed, not changed
    }

    [Fact]
    public async Task CopyAsync_EmptyContentLengthBody_FiltersStillSeeTheEnd()
    {
        var log = new List<string>();
        HttpFilterManager stream = FilterTestKit.Start(new HttpFilterChain([new BodyFactory("a", log)]),
            FilterTestKit.Request("POST /empty HTTP/1.1\r\nHost: shop.example.com\r\nContent-Length: 0\r\n\r\n"));
        var input = new Pipe();
        var output = new Pipe();

        BodyCopyResult result = await Http1BodyCopier.CopyAsync(input.Reader, output.Writer, BodyFraming.ContentLength, 0, BodyFraming.ContentLength,
            null, new ReadDeadline(), 1000, Http1Limits.Default, tap: stream.RequestBodyTap);

        Assert.Equal(BodyCopyStatus.Ok, result.Status);
        Assert.Equal(["a.request::end"], log);
    }

    [Fact]
    public void ContentLengthResponseBody_FiltersSeeItInReverseOrder()
    {
        var log = new List<string>();
        var chain = new HttpFilterChain([new BodyFactory("a", log), new BodyFactory("b", log)]);
        HttpFilterManager stream = FilterTestKit.Start(chain, FilterTestKit.Request(FilterTestKit.Get));
        var forwarder = new Http1BodyForwarder(BodyFraming.ContentLength, 2, BodyFraming.ContentLength, null, Http1Limits.Default, stream.ResponseBodyTap);

        forwarder.Step(new ReadOnlySequence<byte>("ok"u8.ToArray()), isCompleted: false, new ArrayBufferWriter<byte>(), out _);

        Assert.Equal(["b.response:ok", "a.response:ok", "b.response::end", "a.response::end"], log);
    }
}
