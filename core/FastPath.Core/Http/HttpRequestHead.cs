// A request's start line, fields and framing, protocol-neutral; pooled and reused across requests.
namespace FastPath.Http;

internal sealed class HttpRequestHead
{
    public readonly HttpHeaderBlock Headers = new();

    public HttpMethod Method;
    public int MethodStart, MethodLength;
    public int PathStart, PathLength;       // origin-form target (path and query) as forwarded
    public int AuthorityStart = -1, AuthorityLength;
    public int SchemeStart = -1, SchemeLength;  // HTTP/2 :scheme (RFC 9113 §8.3.1); HTTP/1.1 requests carry none
    public HttpVersion Version;

    public BodyFraming Framing;
    public long ContentLength = -1;
    public bool KeepAlive;
    public bool ExpectContinue;
    public bool IsUpgrade;
    public int UpgradeIndex = -1;           // header entry of Upgrade, forwarded when IsUpgrade
    public int RequestIdIndex = -1;         // header entry of a usable x-request-id

    public ReadOnlySpan<byte> MethodBytes => Headers.Slice(MethodStart, MethodLength);

    /// <summary>
    /// Notes a request's x-request-id field (just added to <see cref="Headers"/>): the first usable one (1-128
    /// visible ASCII octets) becomes the request's id, and the field is set aside either way, as the proxy writes the
    /// id once itself (that one, or a fresh one). Both codecs call it, so the id survives translation.
    /// </summary>
    public void NoteRequestId(ref HeaderEntry entry, ReadOnlySpan<byte> value)
    {
        if (RequestIdIndex < 0 && value.Length is > 0 and <= 128 && HttpChars.IsVisibleAscii(value))
            RequestIdIndex = Headers.Count - 1;
        entry.Skip = true;
    }
    public ReadOnlySpan<byte> Path => Headers.Slice(PathStart, PathLength);
    public ReadOnlySpan<byte> Authority => AuthorityStart < 0 ? default : Headers.Slice(AuthorityStart, AuthorityLength);
    public ReadOnlySpan<byte> Scheme => SchemeStart < 0 ? default : Headers.Slice(SchemeStart, SchemeLength);

    /// <summary>Path without the query, for route matching.</summary>
    public ReadOnlySpan<byte> PathOnly
    {
        get
        {
            ReadOnlySpan<byte> p = Path;
            int q = p.IndexOf((byte)'?');
            return q < 0 ? p : p[..q];
        }
    }

    public bool HasBody => Framing != BodyFraming.None;

    public void Reset()
    {
        Headers.Clear();
        Method = HttpMethod.None;
        MethodStart = MethodLength = PathStart = PathLength = AuthorityLength = SchemeLength = 0;
        AuthorityStart = SchemeStart = -1;
        Version = HttpVersion.None;
        Framing = BodyFraming.None;
        ContentLength = -1;
        KeepAlive = ExpectContinue = IsUpgrade = false;
        UpgradeIndex = RequestIdIndex = -1;
    }
}
