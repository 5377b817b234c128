// Turns a decoded request field block into the protocol-neutral HttpRequestHead, validating as RFC 9113 §8.2 and §8.3
// require: lowercase names, pseudo-header fields first and once each, no connection-specific fields, `te: trailers`
// only. A malformed request is remembered, not thrown: HPACK must still see the whole block (§4.3), then the stream
// is reset with PROTOCOL_ERROR (§8.1.1).
using System.Buffers.Text;
using FastPath.Http;
using FastPath.Http2.HPack;

namespace FastPath.Http2;

/// <summary>Validation state of the field block being decoded for one stream; reset per block.</summary>
internal struct Http2HeaderBlockState
{
    public bool Malformed;
    public bool RegularSeen;
    public bool Trailers;
    public bool HasMethod, HasScheme, HasPath, HasAuthority;
    /// <summary>Client role: the block is a response's (only :status is a valid pseudo-header, §8.3.2).</summary>
    public bool Response;
    public bool HasStatus;
    public long ContentLength;

    public void Begin(bool trailers, bool response = false)
    {
        this = default;
        Trailers = trailers;
        Response = response;
        ContentLength = -1;
    }
}

/// <summary>Receives the fields of one block; a null stream discards them (a refused or already reset stream).</summary>
internal struct Http2RequestHeaderHandler(Http2Stream? stream) : IHPackHeaderHandler
{
    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed)
    {
        if (stream is null) return;
        ref Http2HeaderBlockState state = ref stream.HeaderState;
        if (state.Malformed) return;
        if (!Accept(stream, ref state, name, value)) state.Malformed = true;
    }

    private static bool Accept(Http2Stream stream, ref Http2HeaderBlockState state, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (name.IsEmpty) return false;
        if (value.ContainsAny(HttpChars.InvalidFieldValue)) return false; // §8.2.1: NUL, CR, LF never
        HttpRequestHead head = stream.RequestHead;
        if (name[0] == HttpChars.Colon)
        {
            // §8.3: pseudo-header fields only in requests (never trailers), all before the regular ones, each once.
            if (state.Trailers || state.RegularSeen) return false;
            return state.Response ? AcceptStatus(stream.ResponseHead, ref state, name, value) : AcceptPseudo(head, ref state, name, value);
        }

        state.RegularSeen = true;
        // §8.2.1: names are tokens in lowercase; any uppercase letter makes the message malformed.
        if (name.IndexOfAnyExcept(HttpChars.TChar) >= 0 || name.IndexOfAnyInRange((byte)'A', (byte)'Z') >= 0) return false;
        // §8.2.1: no leading or trailing whitespace in a value.
        if (!value.IsEmpty && (IsWhitespace(value[0]) || IsWhitespace(value[^1]))) return false;

        KnownHeader id = KnownHeaders.Lookup(name);
        switch (id)
        {
            // §8.2.2: connection-specific fields make the message malformed.
            case KnownHeader.Connection or KnownHeader.KeepAlive or KnownHeader.ProxyConnection
                or KnownHeader.TransferEncoding or KnownHeader.Upgrade:
                return false;
            case KnownHeader.TE when !value.SequenceEqual("trailers"u8):
                return false;
            case KnownHeader.ContentLength:
                if (!Utf8Parser.TryParse(value, out long length, out int used) || used != value.Length || length < 0) return false;
                if (state.ContentLength >= 0 && state.ContentLength != length) return false;
                state.ContentLength = length;
                break;
        }
        HttpHeaderBlock target = state.Trailers ? stream.RequestTrailers : state.Response ? stream.ResponseHead.Headers : head.Headers;
        ref HeaderEntry entry = ref target.Add(name, value, id);
        if (id == KnownHeader.XRequestId && target == head.Headers) head.NoteRequestId(ref entry, value);
        return true;
    }

    private static bool AcceptPseudo(HttpRequestHead head, ref Http2HeaderBlockState state, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        HttpHeaderBlock store = head.Headers;
        if (name.SequenceEqual(":method"u8))
        {
            if (state.HasMethod || !HttpMethods.IsToken(value)) return false;
            state.HasMethod = true;
            head.MethodStart = store.Store(value);
            head.MethodLength = value.Length;
            head.Method = HttpMethods.Lookup(value);
            return true;
        }
        if (name.SequenceEqual(":path"u8))
        {
            // §8.3.1: never empty; origin-form or "*" (checked once the method is known).
            if (state.HasPath || value.IsEmpty || !HttpChars.IsVisibleAscii(value)) return false;
            state.HasPath = true;
            head.PathStart = store.Store(value);
            head.PathLength = value.Length;
            return true;
        }
        if (name.SequenceEqual(":scheme"u8))
        {
            if (state.HasScheme || value.IsEmpty) return false;
            state.HasScheme = true;
            head.SchemeStart = store.Store(value);
            head.SchemeLength = value.Length;
            return true;
        }
        if (name.SequenceEqual(":authority"u8))
        {
            if (state.HasAuthority || !HttpChars.IsVisibleAscii(value)) return false;
            state.HasAuthority = true;
            head.AuthorityStart = store.Store(value);
            head.AuthorityLength = value.Length;
            return true;
        }
        return false; // §8.3: an unknown pseudo-header (or :status in a request) is malformed
    }

    private static bool AcceptStatus(HttpResponseHead head, ref Http2HeaderBlockState state, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        // §8.3.2: exactly one :status, three digits.
        if (state.HasStatus || !name.SequenceEqual(":status"u8) || !TryParseStatus(value, out int status)) return false;
        state.HasStatus = true;
        head.StatusCode = status;
        return true;
    }

    /// <summary>A :status value: three digits, 100 or more.</summary>
    public static bool TryParseStatus(ReadOnlySpan<byte> value, out int status) =>
        Utf8Parser.TryParse(value, out status, out int used) && used == 3 && value.Length == 3 && status >= 100;

    private static bool IsWhitespace(byte b) => b is HttpChars.SP or HttpChars.HTAB;

    /// <summary>Checks the completed request block (§8.3.1, §8.5) and sets the head's framing. False: malformed.</summary>
    public static bool Complete(Http2Stream stream, bool endStream)
    {
        ref Http2HeaderBlockState state = ref stream.HeaderState;
        if (state.Malformed) return false;
        HttpRequestHead head = stream.RequestHead;
        if (!state.HasMethod) return false;
        if (head.Method == HttpMethod.Connect)
        {
            // §8.5: CONNECT carries :authority only.
            if (state.HasScheme || state.HasPath || !state.HasAuthority) return false;
        }
        else
        {
            if (!state.HasScheme || !state.HasPath) return false;
            ReadOnlySpan<byte> path = head.Path;
            if (path[0] != (byte)'/' && !(head.Method == HttpMethod.Options && path.SequenceEqual("*"u8))) return false;
        }
        if (!state.HasAuthority)
        {
            // §8.3.1: without :authority, a Host field names the target; routing reads Authority either way.
            int host = head.Headers.IndexOf(KnownHeader.Host);
            if (host >= 0)
            {
                ref HeaderEntry e = ref head.Headers[host];
                head.AuthorityStart = e.ValueStart;
                head.AuthorityLength = e.ValueLength;
            }
        }
        head.Version = HttpVersion.Http2;
        head.KeepAlive = true;
        head.ContentLength = state.ContentLength;
        // HTTP/2 frames the body itself (§8.1); a body of unknown length is marked Chunked so an HTTP/1.1 hop frames it so.
        head.Framing = state.ContentLength >= 0 ? BodyFraming.ContentLength : endStream ? BodyFraming.None : BodyFraming.Chunked;
        if (endStream && state.ContentLength > 0) return false; // §8.1.1: content-length must match the DATA sum
        return true;
    }
}
