// Request heads through Http1Parser.ParseHead + Http1RequestHandler + Complete(), driven as a PipeReader loop drives
// them; every case of Http1RequestCases runs whole, split at every index and one byte per segment, and must end the
// same way each time.
using System.Buffers;
using FastPath.Core.Tests.Testing;
using FastPath.Http;
using FastPath.Http1;

namespace FastPath.Core.Tests.Http1;

public class Http1RequestHandlerTests
{
    public static TheoryData<string, Segmentation> ValidCases() => CaseRunner.EveryWay(Http1RequestCases.Valid.Select(c => c.Name));

    public static TheoryData<string, Segmentation> InvalidCases() => CaseRunner.EveryWay(Http1RequestCases.Invalid.Select(c => c.Name));

    public static TheoryData<string> ValidCaseNames() => new(Http1RequestCases.Valid.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(ValidCases))]
    public void ParseHead_ValidRequest_ParsesToExpectedHead(string name, Segmentation mode)
    {
        ValidRequestCase c = Http1RequestCases.Valid.Single(x => x.Name == name);
        byte[] input = Bytes.Of(c.Input);

        var expectedHead = new HttpRequestHead();
        HeadOutcome expected = HeadParseDriver.ParseRequest(SegmentedInput.Create(input, []), expectedHead);
        Assert.Equal(new HeadOutcome(Http1ParseResult.Complete, RequestRejectionReason.None, c.HeadLength ?? input.Length), expected);
        AssertMatches(c, expectedHead);

        string? mismatch = CaseRunner.FirstMismatch(input, mode, () => new HttpRequestHead(), (run, head) =>
        {
            HeadOutcome actual = HeadParseDriver.ParseRequest(run, head);
            return actual == expected && HeadParseDriver.SameHead(head, expectedHead)
                ? null
                : $"{run.Name}: got {actual}, expected {expected}\n--- got\n{HeadParseDriver.Describe(head)}" +
                  $"--- expected\n{HeadParseDriver.Describe(expectedHead)}";
        });
        Assert.True(mismatch is null, mismatch);
    }

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void ParseHead_InvalidRequest_RejectedWithReason(string name, Segmentation mode)
    {
        InvalidRequestCase c = Http1RequestCases.Invalid.Single(x => x.Name == name);
        byte[] input = Bytes.Of(c.Input);
        HeadOutcome expected = HeadOutcome.Rejected(c.Reason);

        string? mismatch = CaseRunner.FirstMismatch(input, mode, () => new HttpRequestHead(), (run, head) =>
        {
            HeadOutcome actual = HeadParseDriver.ParseRequest(run, head);
            return actual == expected ? null : $"{run.Name}: got {actual}, expected {expected}";
        });
        Assert.True(mismatch is null, mismatch);
    }

    [Theory]
    [MemberData(nameof(ValidCaseNames))]
    public void ParseHead_ProperPrefixOfValidRequest_Incomplete(string name)
    {
        ValidRequestCase c = Http1RequestCases.Valid.Single(x => x.Name == name);
        byte[] input = Bytes.Of(c.Input);
        int headLength = c.HeadLength ?? input.Length;

        var failures = new System.Collections.Concurrent.ConcurrentDictionary<int, string>();
        Parallel.For(0, headLength, () => new HttpRequestHead(), (length, _, head) =>
        {
            HeadOutcome actual = HeadParseDriver.ParseRequest(SegmentedInput.Create(input[..length], []), head);
            if (actual != HeadOutcome.Incomplete) failures[length] = $"prefix of {length} bytes: got {actual}, expected Incomplete";
            return head;
        }, _ => { });
        Assert.True(failures.IsEmpty, failures.IsEmpty ? null : failures[failures.Keys.Min()]);
    }

    [Fact]
    public void ParseHead_IncompleteThenRest_ResumesWithoutReparsingConsumedLines()
    {
        byte[] input = Bytes.Of("GET /a HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\nX-B: 2\r\n\r\n");
        var head = new HttpRequestHead();
        var handler = new Http1RequestHandler(head);
        var state = new Http1HeadParseState();

        // First read ends inside "X-B": the complete lines are consumed, the partial one is left for the next read.
        int cut = Bytes.Text(input).IndexOf("X-B", StringComparison.Ordinal) + 2;
        var reader = new SequenceReader<byte>(SequenceFactory.OneSegment(input[..cut]));
        Assert.Equal(Http1ParseResult.Incomplete,
            Http1Parser.ParseHead(ref reader, ref handler, ref state, Http1Limits.Default, out RequestRejectionReason reason));
        Assert.Equal(RequestRejectionReason.None, reason);
        Assert.Equal(cut - 2, reader.Consumed);
        Assert.Equal(2, head.Headers.Count);
        Assert.True(state.StartLineDone);
        Assert.Equal(2, state.HeaderCount);

        reader = new SequenceReader<byte>(SequenceFactory.OneSegment(input[(cut - 2)..]));
        Assert.Equal(Http1ParseResult.Complete,
            Http1Parser.ParseHead(ref reader, ref handler, ref state, Http1Limits.Default, out reason));
        Assert.Equal(RequestRejectionReason.None, handler.Complete());
        Assert.Equal("Host: example.com [Host]\nX-A: 1 [None]\nX-B: 2 [None]\n", HeadParseDriver.DescribeFields(head.Headers));
    }

    [Fact]
    public void ParseHead_CustomLimits_Enforced()
    {
        var limits = new Http1Limits(MaxStartLineBytes: 32, MaxHeaderBytes: 64, MaxHeaderCount: 2);
        var head = new HttpRequestHead();

        HeadOutcome ok = HeadParseDriver.ParseRequest(
            SegmentedInput.Create(Bytes.Of("GET / HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\n\r\n"), []), head, limits);
        Assert.Equal(Http1ParseResult.Complete, ok.Result);

        Assert.Equal(HeadOutcome.Rejected(RequestRejectionReason.TooManyHeaders), HeadParseDriver.ParseRequest(
            SegmentedInput.Create(Bytes.Of("GET / HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\nX-B: 2\r\n\r\n"), []), head, limits));
        Assert.Equal(HeadOutcome.Rejected(RequestRejectionReason.RequestLineTooLong), HeadParseDriver.ParseRequest(
            SegmentedInput.Create(Bytes.Of("GET /0123456789012345678 HTTP/1.1\r\nHost: example.com\r\n\r\n"), []), head, limits));
        Assert.Equal(HeadOutcome.Rejected(RequestRejectionReason.HeadersTooLarge), HeadParseDriver.ParseRequest(
            SegmentedInput.Create(Bytes.Of("GET / HTTP/1.1\r\nHost: example.com\r\nX-A: " + new string('a', 40) + "\r\n\r\n"), []), head, limits));
    }

    [Fact]
    public void Reset_AfterParse_HeadReusableForNextRequest()
    {
        var head = new HttpRequestHead();
        HeadParseDriver.ParseRequest(SegmentedInput.Create(Bytes.Of(
            "PUT /a HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"), []), head);
        Assert.True(head.ExpectContinue);

        HeadOutcome second = HeadParseDriver.ParseRequest(SegmentedInput.Create(Bytes.Of("GET /b HTTP/1.0\r\n\r\n"), []), head);

        Assert.Equal(Http1ParseResult.Complete, second.Result);
        Assert.Equal(HttpMethod.Get, head.Method);
        Assert.Equal("/b", Bytes.Text(head.Path));
        Assert.Equal(-1, head.AuthorityStart);
        Assert.Equal(BodyFraming.None, head.Framing);
        Assert.Equal(-1, head.ContentLength);
        Assert.False(head.ExpectContinue);
        Assert.Equal(0, head.Headers.Count);
    }

    [Fact]
    public void PathOnly_TargetWithQuery_StopsAtQuestionMark()
    {
        var head = new HttpRequestHead();
        HeadParseDriver.ParseRequest(SegmentedInput.Create(Bytes.Of("GET /a/b?c=d?e HTTP/1.1\r\nHost: x\r\n\r\n"), []), head);

        Assert.Equal("/a/b", Bytes.Text(head.PathOnly));
        Assert.Equal("/a/b?c=d?e", Bytes.Text(head.Path));
    }

    [Theory]
    [InlineData("abc-123", true)]
    [InlineData("a b", false)]
    [InlineData("", false)]
    public void OnHeader_RequestId_UsableOnlyWhenVisibleAsciiUpTo128(string value, bool usable)
    {
        var head = new HttpRequestHead();
        HeadParseDriver.ParseRequest(SegmentedInput.Create(Bytes.Of($"GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: {value}\r\n\r\n"), []), head);

        Assert.Equal(usable ? 1 : -1, head.RequestIdIndex);
        Assert.True(head.Headers[1].Skip);
    }

    [Fact]
    public void OnHeader_RequestIdOver128Bytes_NotUsable()
    {
        var head = new HttpRequestHead();
        HeadParseDriver.ParseRequest(SegmentedInput.Create(Bytes.Of(
            $"GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: {new string('r', 129)}\r\nX-Request-Id: second\r\n\r\n"), []), head);

        Assert.Equal(2, head.RequestIdIndex); // the first usable one
    }

    private static void AssertMatches(ValidRequestCase c, HttpRequestHead head)
    {
        string describe = HeadParseDriver.Describe(head);
        Assert.True(c.Method == head.Method, $"method {head.Method}\n{describe}");
        Assert.Equal(c.MethodText ?? c.Method.ToString().ToUpperInvariant(), Bytes.Text(head.MethodBytes));
        Assert.Equal(c.Path, Bytes.Text(head.Path));
        Assert.Equal(c.Authority, head.AuthorityStart < 0 ? null : Bytes.Text(head.Authority));
        Assert.Equal(c.Version, head.Version);
        Assert.Equal(c.Framing, head.Framing);
        Assert.Equal(c.ContentLength, head.ContentLength);
        Assert.True(c.KeepAlive == head.KeepAlive, $"keep-alive {head.KeepAlive}\n{describe}");
        Assert.True(c.IsUpgrade == head.IsUpgrade, $"upgrade {head.IsUpgrade}\n{describe}");
        Assert.True(c.ExpectContinue == head.ExpectContinue, $"expect-continue {head.ExpectContinue}\n{describe}");
        if (c.FieldCount is int count) Assert.Equal(count, head.Headers.Count);

        int from = 0;
        foreach ((string name, string value, bool skip) in c.Fields)
        {
            int found = -1;
            for (int i = from; i < head.Headers.Count && found < 0; i++)
                if (Bytes.Text(head.Headers.Name(head.Headers[i])) == name) found = i;
            Assert.True(found >= 0, $"field {name} not found (in order)\n{describe}");
            ref HeaderEntry e = ref head.Headers[found];
            Assert.Equal(value, Bytes.Text(head.Headers.Value(e)));
            Assert.True(skip == e.Skip, $"field {name}: skip {e.Skip}, expected {skip}\n{describe}");
            from = found + 1;
        }
    }
}
