// Drives Http1Parser.ParseHead the way a PipeReader loop does: after each segment "arrives" the parser sees every
// unconsumed byte so far, the parse state and handler carry over, and the reader's position is what gets consumed.
using System.Buffers;
using System.Text;
using FastPath.Http;
using FastPath.Http1;

namespace FastPath.Core.Tests.Testing;

/// <summary>What a head parse ended with; Consumed is the head's length on success and -1 otherwise.</summary>
internal readonly record struct HeadOutcome(Http1ParseResult Result, RequestRejectionReason Reason, long Consumed)
{
    public static HeadOutcome Incomplete => new(Http1ParseResult.Incomplete, RequestRejectionReason.None, -1);

    public static HeadOutcome Rejected(RequestRejectionReason reason) => new(Http1ParseResult.Error, reason, -1);
}

internal static class HeadParseDriver
{
    public static HeadOutcome ParseRequest(SegmentedInput input, HttpRequestHead head) =>
        ParseRequest(input, head, Http1Limits.Default);

    /// <summary>Parses a request head into <paramref name="head"/> (reset first), then runs the handler's Complete().</summary>
    public static HeadOutcome ParseRequest(SegmentedInput input, HttpRequestHead head, Http1Limits limits)
    {
        head.Reset();
        var handler = new Http1RequestHandler(head);
        var state = new Http1HeadParseState();
        long consumed = 0;
        for (int k = 0; k < input.SegmentCount; k++)
        {
            var reader = new SequenceReader<byte>(input.Available(consumed, k));
            Http1ParseResult result = Http1Parser.ParseHead(ref reader, ref handler, ref state, in limits, out RequestRejectionReason reason);
            consumed += reader.Consumed;
            if (result == Http1ParseResult.Error) return HeadOutcome.Rejected(reason);
            if (result == Http1ParseResult.Complete)
            {
                reason = handler.Complete();
                return reason == RequestRejectionReason.None
                    ? new HeadOutcome(Http1ParseResult.Complete, reason, consumed)
                    : HeadOutcome.Rejected(reason);
            }
        }
        return HeadOutcome.Incomplete;
    }

    /// <summary>Parses a response head into <paramref name="head"/> (reset first), then decides framing for the request method.</summary>
    public static HeadOutcome ParseResponse(SegmentedInput input, HttpResponseHead head, HttpMethod requestMethod)
    {
        head.Reset();
        var handler = new Http1ResponseHandler(head);
        var state = new Http1HeadParseState();
        Http1Limits limits = Http1Limits.Default;
        long consumed = 0;
        for (int k = 0; k < input.SegmentCount; k++)
        {
            var reader = new SequenceReader<byte>(input.Available(consumed, k));
            Http1ParseResult result = Http1Parser.ParseHead(ref reader, ref handler, ref state, in limits, out RequestRejectionReason reason);
            consumed += reader.Consumed;
            if (result == Http1ParseResult.Error) return HeadOutcome.Rejected(reason);
            if (result == Http1ParseResult.Complete)
            {
                reason = handler.Complete(requestMethod);
                return reason == RequestRejectionReason.None
                    ? new HeadOutcome(Http1ParseResult.Complete, reason, consumed)
                    : HeadOutcome.Rejected(reason);
            }
        }
        return HeadOutcome.Incomplete;
    }

    /// <summary>Everything parsed into a request head, one field per line, for comparing runs and for messages.</summary>
    public static string Describe(HttpRequestHead h)
    {
        var sb = new StringBuilder();
        sb.Append(Bytes.Text(h.MethodBytes)).Append(' ').Append(Bytes.Text(h.Path)).Append(' ').Append(h.Version)
          .Append(" method=").Append(h.Method)
          .Append(" authority=").Append(h.AuthorityStart < 0 ? "(none)" : Bytes.Text(h.Authority))
          .Append(" framing=").Append(h.Framing).Append(" length=").Append(h.ContentLength)
          .Append(" keep-alive=").Append(h.KeepAlive).Append(" upgrade=").Append(h.IsUpgrade).Append('@').Append(h.UpgradeIndex)
          .Append(" expect-continue=").Append(h.ExpectContinue).Append(" request-id=").Append(h.RequestIdIndex).Append('\n');
        AppendFields(sb, h.Headers);
        return sb.ToString();
    }

    public static string Describe(HttpResponseHead h)
    {
        var sb = new StringBuilder();
        sb.Append(h.Version).Append(' ').Append(h.StatusCode).Append(" '").Append(Bytes.Text(h.Reason)).Append('\'')
          .Append(" framing=").Append(h.Framing).Append(" length=").Append(h.ContentLength)
          .Append(" keep-alive=").Append(h.KeepAlive).Append('\n');
        AppendFields(sb, h.Headers);
        return sb.ToString();
    }

    public static string DescribeFields(HttpHeaderBlock block)
    {
        var sb = new StringBuilder();
        AppendFields(sb, block);
        return sb.ToString();
    }

    private static void AppendFields(StringBuilder sb, HttpHeaderBlock block)
    {
        for (int i = 0; i < block.Count; i++)
        {
            ref HeaderEntry e = ref block[i];
            sb.Append(Bytes.Text(block.Name(e))).Append(": ").Append(Abbreviate(Bytes.Text(block.Value(e))))
              .Append(" [").Append(e.Id).Append(e.Skip ? ", skip]" : "]").Append('\n');
        }
    }

    // Padding values in the limit cases are ~1 KiB each; a failure message shows their length instead.
    private static string Abbreviate(string s) => s.Length <= 80 ? s : $"{s[..40]}...({s.Length} bytes)";

    /// <summary>Whether two parses produced the same head, compared without building strings (cases run thousands of times).</summary>
    public static bool SameHead(HttpRequestHead a, HttpRequestHead b) =>
        a.Method == b.Method && a.MethodBytes.SequenceEqual(b.MethodBytes) && a.Path.SequenceEqual(b.Path)
        && (a.AuthorityStart < 0) == (b.AuthorityStart < 0) && a.Authority.SequenceEqual(b.Authority)
        && a.Version == b.Version && a.Framing == b.Framing && a.ContentLength == b.ContentLength
        && a.KeepAlive == b.KeepAlive && a.ExpectContinue == b.ExpectContinue && a.IsUpgrade == b.IsUpgrade
        && a.UpgradeIndex == b.UpgradeIndex && a.RequestIdIndex == b.RequestIdIndex && SameFields(a.Headers, b.Headers);

    public static bool SameHead(HttpResponseHead a, HttpResponseHead b) =>
        a.StatusCode == b.StatusCode && a.Reason.SequenceEqual(b.Reason) && a.Version == b.Version
        && a.Framing == b.Framing && a.ContentLength == b.ContentLength && a.KeepAlive == b.KeepAlive
        && SameFields(a.Headers, b.Headers);

    public static bool SameFields(HttpHeaderBlock a, HttpHeaderBlock b)
    {
        if (a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++)
        {
            ref HeaderEntry x = ref a[i];
            ref HeaderEntry y = ref b[i];
            if (x.Id != y.Id || x.Skip != y.Skip || !a.Name(x).SequenceEqual(b.Name(y)) || !a.Value(x).SequenceEqual(b.Value(y)))
                return false;
        }
        return true;
    }
}
