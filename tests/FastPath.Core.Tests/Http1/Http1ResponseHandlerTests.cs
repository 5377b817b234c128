// Response heads through Http1Parser.ParseHead + Http1ResponseHandler + Complete(method): status line, fields and the
// framing decision, each case whole, split at every index and one byte per segment.
using FastPath.Core.Tests.Testing;
using FastPath.Http;
using FastPath.Http1;

namespace FastPath.Core.Tests.Http1;

public class Http1ResponseHandlerTests
{
    public static TheoryData<string, Segmentation> ValidCases() => CaseRunner.EveryWay(Http1ResponseCases.Valid.Select(c => c.Name));

    public static TheoryData<string, Segmentation> InvalidCases() => CaseRunner.EveryWay(Http1ResponseCases.Invalid.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(ValidCases))]
    public void ParseHead_ValidResponse_ParsesToExpectedHeadAndFraming(string name, Segmentation mode)
    {
        ValidResponseCase c = Http1ResponseCases.Valid.Single(x => x.Name == name);
        byte[] input = Bytes.Of(c.Input);

        var expectedHead = new HttpResponseHead();
        HeadOutcome expected = HeadParseDriver.ParseResponse(SegmentedInput.Create(input, []), expectedHead, c.RequestMethod);
        Assert.Equal(new HeadOutcome(Http1ParseResult.Complete, RequestRejectionReason.None, c.HeadLength), expected);
        string describe = HeadParseDriver.Describe(expectedHead);
        Assert.True(c.Status == expectedHead.StatusCode, describe);
        Assert.Equal(c.Reason, Bytes.Text(expectedHead.Reason));
        Assert.True(c.Version == expectedHead.Version, describe);
        Assert.True(c.Framing == expectedHead.Framing, describe);
        Assert.True(c.ContentLength == expectedHead.ContentLength, describe);
        Assert.True(c.KeepAlive == expectedHead.KeepAlive, describe);
        if (c.Fields is not null)
        {
            var fields = new List<string>();
            for (int i = 0; i < expectedHead.Headers.Count; i++)
            {
                ref HeaderEntry e = ref expectedHead.Headers[i];
                fields.Add($"{Bytes.Text(expectedHead.Headers.Name(e))}: {Bytes.Text(expectedHead.Headers.Value(e))}{(e.Skip ? " (skip)" : "")}");
            }
            Assert.Equal(c.Fields, fields);
        }

        string? mismatch = CaseRunner.FirstMismatch(input, mode, () => new HttpResponseHead(), (run, head) =>
        {
            HeadOutcome actual = HeadParseDriver.ParseResponse(run, head, c.RequestMethod);
            return actual == expected && HeadParseDriver.SameHead(head, expectedHead)
                ? null
                : $"{run.Name}: got {actual}, expected {expected}\n--- got\n{HeadParseDriver.Describe(head)}--- expected\n{describe}";
        });
        Assert.True(mismatch is null, mismatch);
    }

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void ParseHead_InvalidResponse_RejectedWithReason(string name, Segmentation mode)
    {
        InvalidResponseCase c = Http1ResponseCases.Invalid.Single(x => x.Name == name);
        HeadOutcome expected = HeadOutcome.Rejected(c.Reason);

        string? mismatch = CaseRunner.FirstMismatch(Bytes.Of(c.Input), mode, () => new HttpResponseHead(), (run, head) =>
        {
            HeadOutcome actual = HeadParseDriver.ParseResponse(run, head, c.RequestMethod);
            return actual == expected ? null : $"{run.Name}: got {actual}, expected {expected}";
        });
        Assert.True(mismatch is null, mismatch);
    }

    [Theory]
    [InlineData("Get", "ContentLength")]
    [InlineData("Post", "ContentLength")]
    [InlineData("Head", "None")]
    public void Complete_SameResponse_FramingDependsOnRequestMethod(string method, string framing)
    {
        var head = new HttpResponseHead();
        HeadParseDriver.ParseResponse(SegmentedInput.Create(Bytes.Of("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), []), head,
            Enum.Parse<HttpMethod>(method));

        Assert.Equal(Enum.Parse<BodyFraming>(framing), head.Framing);
        Assert.Equal(10, head.ContentLength);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(103)]
    [InlineData(199)]
    [InlineData(204)]
    [InlineData(304)]
    public void Complete_StatusWithoutBody_FramingNoneEvenWhenChunked(int status)
    {
        var head = new HttpResponseHead();
        HeadOutcome outcome = HeadParseDriver.ParseResponse(
            SegmentedInput.Create(Bytes.Of($"HTTP/1.1 {status} X\r\nTransfer-Encoding: chunked\r\n\r\n"), []), head, HttpMethod.Get);

        Assert.Equal(Http1ParseResult.Complete, outcome.Result);
        Assert.Equal(BodyFraming.None, head.Framing);
        Assert.True(head.KeepAlive);
    }
}
