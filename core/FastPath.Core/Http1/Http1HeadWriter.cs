// Serialises message heads for the next hop: fields are copied back from the header store, the proxy's own framing
// and forwarding fields are appended, and each head is written with one GetSpan/Advance pair.
using System.Buffers;
using System.Buffers.Text;
using FastPath.Http;

namespace FastPath.Http1;

/// <summary>
/// What the proxy adds to and changes in a forwarded request (all UTF-8 bytes, formatted once per connection or
/// request). One value serves both upstream protocols: the HTTP/1.1 writer serialises it into the head, an HTTP/2
/// try appends it to the stream's field block (<see cref="AppendTo"/>), so the two cannot drift apart.
/// </summary>
internal readonly ref struct ForwardedFields
{
    public ReadOnlySpan<byte> ClientAddress { get; init; }
    public ReadOnlySpan<byte> Scheme { get; init; }
    public ReadOnlySpan<byte> RequestId { get; init; }
    public ReadOnlySpan<byte> Via { get; init; }
    /// <summary>Host to send when the request carried none (HTTP/1.0): the upstream endpoint.</summary>
    public ReadOnlySpan<byte> FallbackHost { get; init; }
    /// <summary>Request target (path and query) to send instead of the request's (a route rewrite); empty: the request's.</summary>
    public ReadOnlySpan<byte> Path { get; init; }
    /// <summary>Host to send instead of the request's (a route's host rewrite); empty: the request's.</summary>
    public ReadOnlySpan<byte> Authority { get; init; }
    /// <summary>Host to send instead of the request's (a mirrored copy's "-shadow" host); empty keeps the request's.</summary>
    public ReadOnlySpan<byte> Host { get; init; }
    /// <summary>x-envoy-attempt-count to send (the try's number, from 1) when the route retries; 0 sends none.</summary>
    public int AttemptCount { get; init; }

    /// <summary>The Host field (HTTP/1.1) or :authority (HTTP/2) to send: a mirror's shadow host, a route's host
    /// rewrite, the request's own, or the endpoint when the request had none.</summary>
    public ReadOnlySpan<byte> HostFor(HttpRequestHead head) =>
        Host.Length > 0 ? Host : !Authority.IsEmpty ? Authority : head.AuthorityStart >= 0 ? head.Authority : FallbackHost;

    /// <summary>The request target (HTTP/1.1) or :path (HTTP/2) to send: the route's rewrite, or the request's.</summary>
    public ReadOnlySpan<byte> PathFor(HttpRequestHead head) => Path.IsEmpty ? head.Path : Path;

    /// <summary>
    /// Appends the forwarding fields to an HTTP/2 head's field block, with the values
    /// <see cref="Http1HeadWriter.WriteRequestHead"/> writes: x-forwarded-for (the request's list plus this hop;
    /// the request's own field is left out of the copy by the caller), x-forwarded-proto, x-request-id, via, and
    /// x-envoy-attempt-count on a retried route.
    /// </summary>
    public void AppendTo(HttpHeaderBlock target, HttpHeaderBlock request)
    {
        // A list of hops past the stack buffer is rare.
        int length = ForwardedFor.Length(request, ClientAddress);
        byte[]? rented = length > 512 ? ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> forwardedFor = rented is null ? stackalloc byte[512] : rented;
        int n = ForwardedFor.Write(request, ClientAddress, forwardedFor);
        target.Append(KnownHeaders.XForwardedForName, forwardedFor[..n]);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        target.Append(KnownHeaders.XForwardedProtoName, Scheme);
        target.Append(KnownHeaders.XRequestIdName, RequestId);
        if (Via.Length > 0) target.Append(KnownHeaders.ViaName, Via);
        if (AttemptCount > 0)
        {
            Span<byte> digits = stackalloc byte[11];
            Utf8Formatter.TryFormat(AttemptCount, digits, out int d);
            target.Append("x-envoy-attempt-count"u8, digits[..d]);
        }
    }
}

internal static class Http1HeadWriter
{
    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;
    private static ReadOnlySpan<byte> ColonSpace => ": "u8;

    public static void WriteRequestHead(IBufferWriter<byte> writer, HttpRequestHead head, BodyFraming framing, in ForwardedFields fwd)
    {
        HttpHeaderBlock block = head.Headers;
        ReadOnlySpan<byte> host = fwd.HostFor(head);
        ReadOnlySpan<byte> path = fwd.PathFor(head);

        int size = head.MethodLength + 1 + path.Length + 11;
        size += 8 + host.Length;
        for (int i = 0; i < block.Count; i++)
        {
            ref HeaderEntry e = ref block[i];
            if (e.Skip || e.Id is KnownHeader.Host or KnownHeader.XForwardedFor) continue;
            size += e.NameLength + e.ValueLength + 4;
        }
        size += 19 + ForwardedFor.Length(block, fwd.ClientAddress);
        size += 21 + fwd.Scheme.Length;
        size += 16 + fwd.RequestId.Length;
        if (fwd.Via.Length > 0) size += 13 + fwd.Via.Length;
        if (fwd.AttemptCount > 0) size += 36;
        size += 40; // framing field
        ReadOnlySpan<byte> upgrade = default;
        if (head.IsUpgrade)
        {
            upgrade = block.Value(block[head.UpgradeIndex]);
            size += 21 + 11 + upgrade.Length;
        }
        size += 2;

        Span<byte> span = writer.GetSpan(size);
        int at = 0;
        Put(span, ref at, head.MethodBytes);
        span[at++] = HttpChars.SP;
        Put(span, ref at, path);
        Put(span, ref at, " HTTP/1.1\r\n"u8);
        Field(span, ref at, KnownHeaders.HostName, host);
        for (int i = 0; i < block.Count; i++)
        {
            ref HeaderEntry e = ref block[i];
            if (e.Skip || e.Id is KnownHeader.Host or KnownHeader.XForwardedFor) continue;
            Field(span, ref at, block.Name(e), block.Value(e));
        }

        Put(span, ref at, KnownHeaders.XForwardedForName);
        Put(span, ref at, ColonSpace);
        at += ForwardedFor.Write(block, fwd.ClientAddress, span[at..]);
        Put(span, ref at, Crlf);

        Field(span, ref at, KnownHeaders.XForwardedProtoName, fwd.Scheme);
        Field(span, ref at, KnownHeaders.XRequestIdName, fwd.RequestId);
        if (fwd.Via.Length > 0) Field(span, ref at, KnownHeaders.ViaName, fwd.Via);
        if (fwd.AttemptCount > 0)
        {
            Put(span, ref at, "x-envoy-attempt-count: "u8);
            Utf8Formatter.TryFormat(fwd.AttemptCount, span[at..], out int digits);
            at += digits;
            Put(span, ref at, Crlf);
        }
        WriteFraming(span, ref at, framing, head.ContentLength);
        if (head.IsUpgrade)
        {
            Put(span, ref at, "connection: upgrade\r\n"u8);
            Field(span, ref at, KnownHeaders.UpgradeName, upgrade);
        }
        Put(span, ref at, Crlf);
        writer.Advance(at);
    }

    /// <summary>Writes a response head; <paramref name="connection"/> is the Connection field to add, if any.</summary>
    public static void WriteResponseHead(IBufferWriter<byte> writer, HttpResponseHead head, BodyFraming framing,
        ReadOnlySpan<byte> connection, bool switchingProtocols)
    {
        HttpHeaderBlock block = head.Headers;
        int size = 13 + head.ReasonLength + 2;
        for (int i = 0; i < block.Count; i++)
        {
            ref HeaderEntry e = ref block[i];
            if (e.Skip && !(switchingProtocols && e.Id == KnownHeader.Upgrade)) continue;
            size += e.NameLength + e.ValueLength + 4;
        }
        size += 40 + 14 + connection.Length + 2;

        Span<byte> span = writer.GetSpan(size);
        int at = 0;
        Put(span, ref at, "HTTP/1.1 "u8);
        at += WriteStatus(span[at..], head.StatusCode);
        span[at++] = HttpChars.SP;
        Put(span, ref at, head.Reason);
        Put(span, ref at, Crlf);
        for (int i = 0; i < block.Count; i++)
        {
            ref HeaderEntry e = ref block[i];
            if (e.Skip && !(switchingProtocols && e.Id == KnownHeader.Upgrade)) continue;
            Field(span, ref at, block.Name(e), block.Value(e));
        }
        WriteFraming(span, ref at, framing, head.ContentLength);
        if (connection.Length > 0) Field(span, ref at, KnownHeaders.ConnectionName, connection);
        Put(span, ref at, Crlf);
        writer.Advance(at);
    }

    /// <summary>A response generated by the proxy itself (errors, admin): short text body, fixed fields.</summary>
    public static void WriteLocalResponse(IBufferWriter<byte> writer, int status, ReadOnlySpan<byte> reason,
        ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> body, bool close, bool headOnly = false,
        ReadOnlySpan<byte> extraHeaders = default)
    {
        // extraHeaders are complete "name: value\r\n" lines built by the caller (Location, x-ratelimit-*, CORS ...).
        int size = 13 + reason.Length + 2 + 40 + 16 + contentType.Length + 21 + 2 + extraHeaders.Length + body.Length;
        Span<byte> span = writer.GetSpan(size);
        int at = 0;
        Put(span, ref at, "HTTP/1.1 "u8);
        at += WriteStatus(span[at..], status);
        span[at++] = HttpChars.SP;
        Put(span, ref at, reason);
        Put(span, ref at, Crlf);
        // 204 and 304 carry no content (RFC 9110 sections 15.3.5, 15.4.5): no Content-Length either.
        bool noContent = status is 204 or 304;
        if (noContent) body = default;
        else WriteFraming(span, ref at, BodyFraming.ContentLength, body.Length);
        if (contentType.Length > 0) Field(span, ref at, "content-type"u8, contentType);
        if (close) Put(span, ref at, "connection: close\r\n"u8);
        Put(span, ref at, extraHeaders);
        Put(span, ref at, Crlf);
        if (!headOnly) Put(span, ref at, body);
        writer.Advance(at);
    }

    public static void WriteChunkHeader(IBufferWriter<byte> writer, long length)
    {
        Span<byte> span = writer.GetSpan(18);
        Utf8Formatter.TryFormat(length, span, out int n, new StandardFormat('x'));
        span[n++] = HttpChars.CR;
        span[n++] = HttpChars.LF;
        writer.Advance(n);
    }

    public static void WriteCrlf(IBufferWriter<byte> writer) => writer.Write(Crlf);

    /// <summary>last-chunk, the trailer fields (if any) and the final CRLF.</summary>
    public static void WriteLastChunk(IBufferWriter<byte> writer, HttpHeaderBlock? trailers)
    {
        int size = 5;
        if (trailers is not null)
            for (int i = 0; i < trailers.Count; i++)
            {
                ref HeaderEntry e = ref trailers[i];
                if (!e.Skip) size += e.NameLength + e.ValueLength + 4;
            }
        Span<byte> span = writer.GetSpan(size);
        int at = 0;
        Put(span, ref at, "0\r\n"u8);
        if (trailers is not null)
            for (int i = 0; i < trailers.Count; i++)
            {
                ref HeaderEntry e = ref trailers[i];
                if (!e.Skip) Field(span, ref at, trailers.Name(e), trailers.Value(e));
            }
        Put(span, ref at, Crlf);
        writer.Advance(at);
    }

    private static void WriteFraming(Span<byte> span, ref int at, BodyFraming framing, long contentLength)
    {
        if (framing == BodyFraming.ContentLength)
        {
            Put(span, ref at, "content-length: "u8);
            Utf8Formatter.TryFormat(contentLength, span[at..], out int n);
            at += n;
            Put(span, ref at, Crlf);
        }
        else if (framing == BodyFraming.Chunked)
        {
            Put(span, ref at, "transfer-encoding: chunked\r\n"u8);
        }
    }

    private static int WriteStatus(Span<byte> span, int status)
    {
        span[0] = (byte)('0' + status / 100);
        span[1] = (byte)('0' + status / 10 % 10);
        span[2] = (byte)('0' + status % 10);
        return 3;
    }

    private static void Field(Span<byte> span, ref int at, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        Put(span, ref at, name);
        Put(span, ref at, ColonSpace);
        Put(span, ref at, value);
        Put(span, ref at, Crlf);
    }

    private static void Put(Span<byte> span, ref int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(span[at..]);
        at += bytes.Length;
    }
}
