// Request methods as a small enum so the common ones cost no string; anything else stays as raw bytes.
using System.Text;

namespace FastPath.Http;

internal enum HttpMethod : byte
{
    None = 0,
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Patch,
    Trace,
    Connect,
    Custom,
}

internal static class HttpMethods
{
    public static HttpMethod Lookup(ReadOnlySpan<byte> method) => method.Length switch
    {
        3 when method.SequenceEqual("GET"u8) => HttpMethod.Get,
        3 when method.SequenceEqual("PUT"u8) => HttpMethod.Put,
        4 when method.SequenceEqual("HEAD"u8) => HttpMethod.Head,
        4 when method.SequenceEqual("POST"u8) => HttpMethod.Post,
        5 when method.SequenceEqual("PATCH"u8) => HttpMethod.Patch,
        5 when method.SequenceEqual("TRACE"u8) => HttpMethod.Trace,
        6 when method.SequenceEqual("DELETE"u8) => HttpMethod.Delete,
        7 when method.SequenceEqual("OPTIONS"u8) => HttpMethod.Options,
        7 when method.SequenceEqual("CONNECT"u8) => HttpMethod.Connect,
        _ => HttpMethod.Custom,
    };

    /// <summary>Safe and idempotent methods (RFC 9110 §9.2.2): a request that may be sent again on a fresh connection.</summary>
    public static bool IsIdempotent(HttpMethod m) => m is HttpMethod.Get or HttpMethod.Head or HttpMethod.Options
        or HttpMethod.Put or HttpMethod.Delete or HttpMethod.Trace;

    internal static bool IsToken(ReadOnlySpan<byte> s) => s.Length > 0 && s.IndexOfAnyExcept(HttpChars.TChar) < 0;
}
