// How a message body is delimited on the wire (RFC 9112 §6.3).
namespace FastPath.Http;

internal enum BodyFraming : byte
{
    /// <summary>No body: a request without Content-Length or Transfer-Encoding, or a HEAD/1xx/204/304 response.</summary>
    None = 0,
    ContentLength,
    Chunked,
    /// <summary>A response whose body runs until the connection closes.</summary>
    UntilClose,
}
