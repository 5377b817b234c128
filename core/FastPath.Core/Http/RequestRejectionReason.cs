// Why a downstream request was refused; each maps to one status in HttpConnectionManager and one access-log detail.
namespace FastPath.Http;

internal enum RequestRejectionReason : byte
{
    None = 0,
    InvalidRequestLine,
    RequestLineTooLong,
    UnsupportedVersion,
    InvalidRequestTarget,
    InvalidHeaderName,
    WhitespaceBeforeColon,
    ObsoleteLineFolding,
    InvalidHeaderValue,
    BareLineFeed,
    HeadersTooLarge,
    TooManyHeaders,
    MissingHost,
    DuplicateHost,
    InvalidHost,
    InvalidContentLength,
    ConflictingContentLength,
    ContentLengthWithTransferEncoding,
    FinalCodingNotChunked,
    UnsupportedTransferCoding,
    TransferEncodingInHttp10,
    InvalidChunkSize,
    InvalidChunkExtension,
    InvalidChunkTerminator,
    InvalidTrailer,
    TrailersTooLarge,
    MethodNotSupported,
    UnexpectedEndOfBody,
}
