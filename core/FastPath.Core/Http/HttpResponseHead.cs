// An upstream response's status, fields and framing; pooled with the request it answers.
namespace FastPath.Http;

internal sealed class HttpResponseHead
{
    public readonly HttpHeaderBlock Headers = new();

    public int StatusCode;
    public int ReasonStart, ReasonLength;
    public HttpVersion Version;
    public BodyFraming Framing;
    public long ContentLength = -1;
    /// <summary>The upstream will keep the connection open after this response.</summary>
    public bool KeepAlive;

    public ReadOnlySpan<byte> Reason => Headers.Slice(ReasonStart, ReasonLength);

    public void Reset()
    {
        Headers.Clear();
        StatusCode = ReasonStart = ReasonLength = 0;
        Version = HttpVersion.None;
        Framing = BodyFraming.None;
        ContentLength = -1;
        KeepAlive = false;
    }
}
