// RFC 9112 message-head parser shared by both roles: splits field lines from a ReadOnlySequence with a fast path on
// the current span and a copy-out slow path for lines that cross segments (Kestrel's HttpParser shape). The start
// line and each field go to a struct handler, so the JIT devirtualises the calls.
using System.Buffers;
using System.Runtime.CompilerServices;
using FastPath.Http;

namespace FastPath.Http1;

internal enum Http1ParseResult : byte
{
    Complete = 0,
    Incomplete,
    Error,
}

internal interface IHttp1HeadHandler
{
    RequestRejectionReason OnStartLine(ReadOnlySpan<byte> line);

    /// <summary>A validated field; <paramref name="name"/> and <paramref name="value"/> are slices of one line buffer.</summary>
    RequestRejectionReason OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);
}

/// <summary>Limits enforced while parsing, before anything is buffered beyond them.</summary>
internal readonly record struct Http1Limits(int MaxStartLineBytes, int MaxHeaderBytes, int MaxHeaderCount)
{
    public static readonly Http1Limits Default = new(8 * 1024, 60 * 1024, 100);
}

/// <summary>Progress across reads: lines already consumed are never parsed twice.</summary>
internal struct Http1HeadParseState
{
    public bool StartLineDone;
    /// <summary>Empty lines seen before the request line, counted across reads so the bound holds however bytes arrive.</summary>
    public int LeadingEmptyLines;
    public int HeaderBytes;
    public int HeaderCount;

    public static Http1HeadParseState ForTrailers => new() { StartLineDone = true };
}

internal static class Http1Parser
{
    // Lines up to this size are copied to the stack when they straddle two segments.
    private const int StackLineBytes = 512;
    // Empty lines tolerated before a request line (RFC 9112 §2.2 asks to ignore at least one).
    private const int MaxLeadingEmptyLines = 4;

    /// <summary>
    /// Parses a start line (unless already done) and field lines up to and including the empty line.
    /// On Incomplete the reader stops at the first unconsumed line; the caller advances the pipe to it.
    /// </summary>
    public static Http1ParseResult ParseHead<THandler>(ref SequenceReader<byte> reader, ref THandler handler,
        ref Http1HeadParseState state, in Http1Limits limits, out RequestRejectionReason reason)
        where THandler : struct, IHttp1HeadHandler
    {
        reason = RequestRejectionReason.None;
        while (true)
        {
            ReadOnlySpan<byte> unread = reader.UnreadSpan;
            // Fast path: one vectorised scan finds the line's end and proves it clean, since in a well-formed line
            // the first control byte is the CR of its CRLF. Anything else takes the path below, which says why.
            int ctl = unread.IndexOfAny(HttpChars.InvalidFieldValue);
            if (ctl >= 0 && unread[ctl] == HttpChars.CR && (uint)(ctl + 1) < (uint)unread.Length && unread[ctl + 1] == HttpChars.LF)
            {
                reason = ProcessLine(unread[..(ctl + 1)], ref handler, ref state, in limits, out bool clean, controlsChecked: true);
                if (reason != RequestRejectionReason.None) return Http1ParseResult.Error;
                reader.Advance(ctl + 2);
                if (clean) return Http1ParseResult.Complete;
                continue;
            }

            int lf = unread.IndexOf(HttpChars.LF);
            if (lf >= 0)
            {
                reason = ProcessLine(unread[..lf], ref handler, ref state, in limits, out bool done);
                if (reason != RequestRejectionReason.None) return Http1ParseResult.Error;
                reader.Advance(lf + 1);
                if (done) return Http1ParseResult.Complete;
                continue;
            }

            if (!reader.TryReadTo(out ReadOnlySequence<byte> lineSeq, HttpChars.LF, advancePastDelimiter: true))
            {
                // No full line buffered: refuse to buffer more than the limits allow.
                long pending = reader.Remaining;
                if (!state.StartLineDone)
                {
                    if (pending > limits.MaxStartLineBytes) reason = RequestRejectionReason.RequestLineTooLong;
                }
                // A partial line is counted as it will be once its LF arrives (+1); a lone CR is the end of the
                // head arriving, not a field, so it never trips the limit on its own.
                else if ((pending > 1 || (pending == 1 && reader.TryPeek(out byte next) && next != HttpChars.CR))
                         && state.HeaderBytes + pending + 1 > limits.MaxHeaderBytes)
                {
                    reason = RequestRejectionReason.HeadersTooLarge;
                }
                return reason == RequestRejectionReason.None ? Http1ParseResult.Incomplete : Http1ParseResult.Error;
            }

            if (lineSeq.Length > limits.MaxHeaderBytes + limits.MaxStartLineBytes)
            {
                reason = state.StartLineDone ? RequestRejectionReason.HeadersTooLarge : RequestRejectionReason.RequestLineTooLong;
                return Http1ParseResult.Error;
            }
            reason = ProcessSplitLine(lineSeq, ref handler, ref state, in limits, out bool complete);
            if (reason != RequestRejectionReason.None) return Http1ParseResult.Error;
            if (complete) return Http1ParseResult.Complete;
        }
    }

    // Slow path: the line straddles segments, so it is copied out once (stack for short lines, pool for long ones).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static RequestRejectionReason ProcessSplitLine<THandler>(in ReadOnlySequence<byte> lineSeq, ref THandler handler,
        ref Http1HeadParseState state, in Http1Limits limits, out bool complete)
        where THandler : struct, IHttp1HeadHandler
    {
        int lineLength = (int)lineSeq.Length;
        byte[]? rented = null;
        Span<byte> copy = lineLength <= StackLineBytes
            ? stackalloc byte[StackLineBytes]
            : (rented = ArrayPool<byte>.Shared.Rent(lineLength));
        lineSeq.CopyTo(copy);
        RequestRejectionReason reason = ProcessLine(copy[..lineLength], ref handler, ref state, in limits, out complete);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        return reason;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static RequestRejectionReason ProcessLine<THandler>(ReadOnlySpan<byte> line, ref THandler handler,
        ref Http1HeadParseState state, in Http1Limits limits, out bool complete, bool controlsChecked = false)
        where THandler : struct, IHttp1HeadHandler
    {
        complete = false;
        // RFC 9112 §2.2 allows a bare LF terminator, but a proxy that accepts it can be desynchronised from an
        // origin that does not: CRLF is required everywhere.
        if (line.Length == 0 || line[^1] != HttpChars.CR) return RequestRejectionReason.BareLineFeed;
        ReadOnlySpan<byte> content = line[..^1];

        if (!state.StartLineDone)
        {
            if (content.Length == 0)
            {
                return ++state.LeadingEmptyLines > MaxLeadingEmptyLines ? RequestRejectionReason.InvalidRequestLine : RequestRejectionReason.None;
            }
            if (line.Length + 1 > limits.MaxStartLineBytes) return RequestRejectionReason.RequestLineTooLong;
            state.StartLineDone = true;
            return handler.OnStartLine(content);
        }

        if (content.Length == 0)
        {
            complete = true;
            return RequestRejectionReason.None;
        }

        state.HeaderBytes += line.Length + 1;
        if (state.HeaderBytes > limits.MaxHeaderBytes) return RequestRejectionReason.HeadersTooLarge;
        if (++state.HeaderCount > limits.MaxHeaderCount) return RequestRejectionReason.TooManyHeaders;

        // A field line starting with whitespace is obs-fold (RFC 9112 §5.2): rejected, never unfolded.
        byte first = content[0];
        if (first == HttpChars.SP || first == HttpChars.HTAB) return RequestRejectionReason.ObsoleteLineFolding;

        // One scan finds the end of the name and validates it: in a valid line the first non-tchar is the colon.
        int colon = content.IndexOfAnyExcept(HttpChars.TChar);
        if (colon <= 0 || content[colon] != HttpChars.Colon) return RejectFieldName(content);
        ReadOnlySpan<byte> name = content[..colon];

        ReadOnlySpan<byte> value = HttpChars.TrimOws(content[(colon + 1)..]);
        if (!controlsChecked && value.IndexOfAny(HttpChars.InvalidFieldValue) >= 0) return RequestRejectionReason.InvalidHeaderValue;
        return handler.OnHeader(name, value);
    }

    // Cold path: says precisely why a field name is bad.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static RequestRejectionReason RejectFieldName(ReadOnlySpan<byte> content)
    {
        int colon = content.IndexOf(HttpChars.Colon);
        if (colon <= 0) return RequestRejectionReason.InvalidHeaderName;
        byte last = content[colon - 1];
        // RFC 9112 §5.1: no whitespace between field name and colon; a proxy MUST reject it.
        if (last == HttpChars.SP || last == HttpChars.HTAB) return RequestRejectionReason.WhitespaceBeforeColon;
        return RequestRejectionReason.InvalidHeaderName;
    }

    /// <summary>Parses a Content-Length value: digits only, no sign, no overflow; a list of equal values is one value.</summary>
    public static bool TryParseContentLength(ReadOnlySpan<byte> value, out long length)
    {
        length = -1;
        while (true)
        {
            int comma = value.IndexOf((byte)',');
            ReadOnlySpan<byte> item = HttpChars.TrimOws(comma < 0 ? value : value[..comma]);
            if (item.Length == 0 || item.Length > 18) return false;
            long v = 0;
            foreach (byte b in item)
            {
                uint d = (uint)(b - '0');
                if (d > 9) return false;
                v = v * 10 + d;
            }
            if (length >= 0 && length != v) return false;
            length = v;
            if (comma < 0) return true;
            value = value[(comma + 1)..];
        }
    }
}
