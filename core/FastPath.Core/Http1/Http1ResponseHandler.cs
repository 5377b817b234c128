// Client role: parses an upstream status line and fields into an HttpResponseHead and derives its framing from
// the request it answers (RFC 9112 §4, §6.3).
using FastPath.Http;

namespace FastPath.Http1;

internal struct Http1ResponseHandler(HttpResponseHead head) : IHttp1HeadHandler
{
    private readonly HttpResponseHead _head = head;
    private int _transferEncodingCount;
    private bool _chunkedFinal;
    private bool _otherCoding;
    private bool _chunkedNotLast;
    private bool _contentLengthInvalid;

    public RequestRejectionReason OnStartLine(ReadOnlySpan<byte> line)
    {
        // status-line = HTTP-version SP status-code SP [ reason-phrase ]
        if (line.Length < 12 || !line.StartsWith("HTTP/1."u8) || line[8] != HttpChars.SP) return RequestRejectionReason.InvalidRequestLine;
        _head.Version = line[7] switch
        {
            (byte)'1' => HttpVersion.Http11,
            (byte)'0' => HttpVersion.Http10,
            _ => HttpVersion.None,
        };
        if (_head.Version == HttpVersion.None) return RequestRejectionReason.UnsupportedVersion;
        int code = 0;
        for (int i = 9; i < 12; i++)
        {
            uint d = (uint)(line[i] - '0');
            if (d > 9) return RequestRejectionReason.InvalidRequestLine;
            code = code * 10 + (int)d;
        }
        if (code < 100) return RequestRejectionReason.InvalidRequestLine;
        _head.StatusCode = code;
        ReadOnlySpan<byte> reason = line.Length > 12 ? line[13..] : default;
        if (line.Length > 12 && line[12] != HttpChars.SP) return RequestRejectionReason.InvalidRequestLine;
        if (reason.IndexOfAny(HttpChars.InvalidFieldValue) >= 0) return RequestRejectionReason.InvalidRequestLine;
        _head.ReasonStart = _head.Headers.Store(reason);
        _head.ReasonLength = reason.Length;
        return RequestRejectionReason.None;
    }

    public RequestRejectionReason OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        KnownHeader id = KnownHeaders.Lookup(name);
        ref HeaderEntry entry = ref _head.Headers.AddParsed(name, value, id);
        switch (id)
        {
            case KnownHeader.ContentLength:
                if (!Http1Parser.TryParseContentLength(value, out long length)
                    || (_head.ContentLength >= 0 && _head.ContentLength != length))
                {
                    _contentLengthInvalid = true;
                }
                _head.ContentLength = length;
                break;
            case KnownHeader.TransferEncoding:
                entry.Skip = true;
                _transferEncodingCount++;
                Http1RequestHandler.AnalyseCodings(value, ref _chunkedFinal, ref _otherCoding, ref _chunkedNotLast);
                break;
            default:
                if (KnownHeaders.IsHopByHop(id)) entry.Skip = true;
                break;
        }
        return RequestRejectionReason.None;
    }

    /// <summary>Decides framing once the head is complete; a response that could be read two ways is an error.</summary>
    public readonly RequestRejectionReason Complete(HttpMethod requestMethod)
    {
        HttpResponseHead head = _head;
        HttpHeaderBlock block = head.Headers;
        bool close = false, keepAlive = false, upgrade = false;
        for (int i = 0; i < block.Count; i++)
        {
            ref HeaderEntry e = ref block[i];
            if (e.Id == KnownHeader.Connection)
                Http1RequestHandler.ApplyConnectionTokens(block, block.Value(e), ref close, ref keepAlive, ref upgrade);
        }
        head.KeepAlive = !close && (head.Version == HttpVersion.Http11 || keepAlive);

        int status = head.StatusCode;
        bool noBody = requestMethod == HttpMethod.Head || status < 200 || status == 204 || status == 304;
        if (_transferEncodingCount > 0 && head.ContentLength >= 0) return RequestRejectionReason.ContentLengthWithTransferEncoding;
        if (_contentLengthInvalid) return RequestRejectionReason.InvalidContentLength;
        if (noBody)
        {
            head.Framing = BodyFraming.None;
            return RequestRejectionReason.None; // Content-Length of a HEAD/304 answer is metadata, forwarded as is
        }
        if (_transferEncodingCount > 0)
        {
            if (_chunkedFinal && !_chunkedNotLast && !_otherCoding) head.Framing = BodyFraming.Chunked;
            else if (_chunkedNotLast || _chunkedFinal) return RequestRejectionReason.UnsupportedTransferCoding;
            else head.Framing = BodyFraming.UntilClose;
        }
        else if (head.ContentLength >= 0)
        {
            head.Framing = BodyFraming.ContentLength;
            block.SkipAll(KnownHeader.ContentLength); // one normalised field is written instead
        }
        else
        {
            head.Framing = BodyFraming.UntilClose;
        }
        if (head.Framing == BodyFraming.UntilClose) head.KeepAlive = false;
        return RequestRejectionReason.None;
    }
}
