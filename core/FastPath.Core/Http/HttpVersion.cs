// Protocol versions the codecs speak.
namespace FastPath.Http;

internal enum HttpVersion : byte
{
    None = 0,
    Http10,
    Http11,
    Http2,
}
