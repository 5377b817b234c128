// Server role: turns a request line and fields into an HttpRequestHead, and decides the request's framing and
// connection semantics with the strict reading a proxy needs (RFC 9112 §3, §6, §9; RFC 9110 §7.6.1).
using System.Buffers;
using System.Text;
using FastPath.Http;

namespace FastPath.Http1;

internal struct Http1RequestHandler(HttpRequestHead head) : IHttp1HeadHandler
{
    private readonly HttpRequestHead _head = head;
    private int _hostIndex = -1;
    private int _transferEncodingCount;
    private bool _chunkedFinal;
    private bool _otherCoding;
    private bool _chunkedNotLast;
    private bool _hasConnection;

    public RequestRejectionReason OnStartLine(ReadOnlySpan<byte> line)
    {
        int sp1 = line.IndexOf(HttpChars.SP);
        if (sp1 <= 0) return RequestRejectionReason.InvalidRequestLine;
        ReadOnlySpan<byte> method = line[..sp1];
        if (method.IndexOfAnyExcept(HttpChars.TChar) >= 0) return RequestRejectionReason.InvalidRequestLine;

        ReadOnlySpan<byte> rest = line[(sp1 + 1)..];
        int sp2 = rest.IndexOf(HttpChars.SP);
        if (sp2 <= 0) return RequestRejectionReason.InvalidRequestLine;
        ReadOnlySpan<byte> target = rest[..sp2];
        ReadOnlySpan<byte> version = rest[(sp2 + 1)..];

        if (version.SequenceEqual("HTTP/1.1"u8)) _head.Version = HttpVersion.Http11;
        else if (version.SequenceEqual("HTTP/1.0"u8)) _head.Version = HttpVersion.Http10;
        else if (version.Length == 8 && version.StartsWith("HTTP/"u8) && char.IsAsciiDigit((char)version[5])
                 && version[6] == '.' && char.IsAsciiDigit((char)version[7]))
            return RequestRejectionReason.UnsupportedVersion;
        else return RequestRejectionReason.InvalidRequestLine;

        if (!HttpChars.IsVisibleAscii(target)) return RequestRejectionReason.InvalidRequestTarget;

        HttpHeaderBlock block = _head.Headers;
        _head.Method = HttpMethods.Lookup(method);
        _head.MethodStart = block.Store(method);
        _head.MethodLength = method.Length;
        if (_head.Method == HttpMethod.Connect) return RequestRejectionReason.MethodNotSupported;

        if (target[0] == '/')
        {
            _head.PathStart = block.Store(target);
            _head.PathLength = target.Length;
            return RequestRejectionReason.None;
        }
        if (target.Length == 1 && target[0] == '*')
        {
            if (_head.Method != HttpMethod.Options) return RequestRejectionReason.InvalidRequestTarget;
            _head.PathStart = block.Store(target);
            _head.PathLength = 1;
            return RequestRejectionReason.None;
        }
        return ParseAbsoluteForm(target);
    }

    // RFC 9112 §3.2.2: absolute-form; the authority in the target replaces Host, and the origin gets origin-form.
    private readonly RequestRejectionReason ParseAbsoluteForm(ReadOnlySpan<byte> target)
    {
        int schemeEnd;
        if (target.Length > 7 && Ascii.EqualsIgnoreCase(target[..7], "http://"u8)) schemeEnd = 7;
        else if (target.Length > 8 && Ascii.EqualsIgnoreCase(target[..8], "https://"u8)) schemeEnd = 8;
        else return RequestRejectionReason.InvalidRequestTarget;

        ReadOnlySpan<byte> afterScheme = target[schemeEnd..];
        int pathAt = afterScheme.IndexOfAny((byte)'/', (byte)'?');
        ReadOnlySpan<byte> authority = pathAt < 0 ? afterScheme : afterScheme[..pathAt];
        if (authority.Length == 0 || authority.IndexOf((byte)'@') >= 0) return RequestRejectionReason.InvalidRequestTarget;
        HttpHeaderBlock block = _head.Headers;
        _head.AuthorityStart = block.Store(authority);
        _head.AuthorityLength = authority.Length;

        ReadOnlySpan<byte> path = pathAt < 0 ? default : afterScheme[pathAt..];
        if (path.Length == 0 || path[0] == '?')
        {
            _head.PathStart = block.Store("/"u8);
            block.Store(path);
            _head.PathLength = path.Length + 1;
        }
        else
        {
            _head.PathStart = block.Store(path);
            _head.PathLength = path.Length;
        }
        return RequestRejectionReason.None;
    }

    public RequestRejectionReason OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        KnownHeader id = KnownHeaders.Lookup(name);
        HttpHeaderBlock block = _head.Headers;
        ref HeaderEntry entry = ref block.AddParsed(name, value, id);
        switch (id)
        {
            case KnownHeader.None:
                return RequestRejectionReason.None;
            case KnownHeader.Host:
                if (_hostIndex >= 0) return RequestRejectionReason.DuplicateHost;
                if (!IsValidAuthority(value)) return RequestRejectionReason.InvalidHost;
                _hostIndex = block.Count - 1;
                return RequestRejectionReason.None;
            case KnownHeader.ContentLength:
                if (!Http1Parser.TryParseContentLength(value, out long length)) return RequestRejectionReason.InvalidContentLength;
                if (_head.ContentLength >= 0 && _head.ContentLength != length) return RequestRejectionReason.ConflictingContentLength;
                _head.ContentLength = length;
                entry.Skip = true; // re-written from the parsed value
                return RequestRejectionReason.None;
            case KnownHeader.TransferEncoding:
                entry.Skip = true;
                _transferEncodingCount++;
                AnalyseCodings(value, ref _chunkedFinal, ref _otherCoding, ref _chunkedNotLast);
                return RequestRejectionReason.None;
            case KnownHeader.Expect:
                if (Ascii.EqualsIgnoreCase(value, "100-continue"u8))
                {
                    // Answered by the proxy itself (as Envoy does by default); the origin sees no Expect.
                    _head.ExpectContinue = true;
                    entry.Skip = true;
                }
                return RequestRejectionReason.None;
            case KnownHeader.Upgrade:
                _head.UpgradeIndex = block.Count - 1;
                entry.Skip = true;
                return RequestRejectionReason.None;
            case KnownHeader.XRequestId:
                _head.NoteRequestId(ref entry, value);
                return RequestRejectionReason.None;
            case KnownHeader.XForwardedProto:
                entry.Skip = true;
                return RequestRejectionReason.None;
            case KnownHeader.Connection:
                _hasConnection = true;
                entry.Skip = true;
                return RequestRejectionReason.None;
            default:
                if (KnownHeaders.IsHopByHop(id)) entry.Skip = true;
                return RequestRejectionReason.None;
        }
    }

    /// <summary>Called once the empty line is read: framing and connection semantics from all fields together.</summary>
    public readonly RequestRejectionReason Complete()
    {
        HttpRequestHead head = _head;
        HttpHeaderBlock block = head.Headers;
        if (head.AuthorityStart < 0)
        {
            if (_hostIndex >= 0)
            {
                ref HeaderEntry host = ref block[_hostIndex];
                head.AuthorityStart = host.ValueStart;
                head.AuthorityLength = host.ValueLength;
            }
            else if (head.Version == HttpVersion.Http11)
            {
                return RequestRejectionReason.MissingHost; // RFC 9112 §3.2
            }
        }

        if (_transferEncodingCount > 0)
        {
            // RFC 9112 §6.1 and §6.3: CL with TE, TE in HTTP/1.0, or a final coding other than chunked cannot be
            // framed the same way by every recipient, so they are refused rather than "fixed".
            if (head.ContentLength >= 0) return RequestRejectionReason.ContentLengthWithTransferEncoding;
            if (head.Version == HttpVersion.Http10) return RequestRejectionReason.TransferEncodingInHttp10;
            if (!_chunkedFinal || _chunkedNotLast) return RequestRejectionReason.FinalCodingNotChunked;
            if (_otherCoding) return RequestRejectionReason.UnsupportedTransferCoding;
            head.Framing = BodyFraming.Chunked;
        }
        else if (head.ContentLength >= 0)
        {
            head.Framing = BodyFraming.ContentLength;
        }

        bool close = false, keepAlive = false, upgrade = false;
        for (int i = 0; _hasConnection && i < block.Count; i++)
        {
            ref HeaderEntry e = ref block[i];
            if (e.Id == KnownHeader.Connection) ApplyConnectionTokens(block, block.Value(e), ref close, ref keepAlive, ref upgrade);
        }
        head.KeepAlive = !close && (head.Version == HttpVersion.Http11 || keepAlive);
        head.IsUpgrade = upgrade && head.UpgradeIndex >= 0 && head.Version == HttpVersion.Http11;
        if (head.ExpectContinue && (head.Version != HttpVersion.Http11 || !head.HasBody)) head.ExpectContinue = false;
        return RequestRejectionReason.None;
    }

    internal static void AnalyseCodings(ReadOnlySpan<byte> value, ref bool chunkedFinal, ref bool otherCoding, ref bool chunkedNotLast)
    {
        // Fields combine in order (RFC 9110 §5.3): "chunked" must be last of all of them, and only once.
        while (value.Length > 0)
        {
            int comma = value.IndexOf((byte)',');
            ReadOnlySpan<byte> coding = HttpChars.TrimOws(comma < 0 ? value : value[..comma]);
            value = comma < 0 ? default : value[(comma + 1)..];
            if (coding.Length == 0) continue;
            if (chunkedFinal) chunkedNotLast = true;
            if (Ascii.EqualsIgnoreCase(coding, "chunked"u8)) chunkedFinal = true;
            else
            {
                chunkedFinal = false;
                otherCoding = true;
            }
        }
    }

    internal static void ApplyConnectionTokens(HttpHeaderBlock block, ReadOnlySpan<byte> value, ref bool close, ref bool keepAlive, ref bool upgrade)
    {
        while (value.Length > 0)
        {
            int comma = value.IndexOf((byte)',');
            ReadOnlySpan<byte> token = HttpChars.TrimOws(comma < 0 ? value : value[..comma]);
            value = comma < 0 ? default : value[(comma + 1)..];
            if (token.Length == 0) continue;
            if (Ascii.EqualsIgnoreCase(token, "close"u8)) close = true;
            else if (Ascii.EqualsIgnoreCase(token, "keep-alive"u8)) keepAlive = true;
            else if (Ascii.EqualsIgnoreCase(token, "upgrade"u8)) upgrade = true;
            else if (KnownHeaders.Lookup(token) is not KnownHeader.Host)
            {
                // RFC 9110 §7.6.1: fields named in Connection are hop-by-hop. Host is exempt: routing needs it.
                block.SkipByName(token);
            }
        }
    }

    // reg-name / IP-literal with optional port; anything else (spaces, '/', '@', controls) is refused.
    private static readonly SearchValues<byte> AuthorityChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:[]%!$&'()*+,;="u8);

    private static bool IsValidAuthority(ReadOnlySpan<byte> value) => value.IndexOfAnyExcept(AuthorityChars) < 0;
}
