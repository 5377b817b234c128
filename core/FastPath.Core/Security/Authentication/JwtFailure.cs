// Why a request's JWT was refused, and the 401 body that says so: Envoy jwt_authn's wording, so clients and runbooks
// written against Istio read the same. Bodies are fixed text and never echo any byte of the token.
namespace FastPath.Security.Authentication;

internal enum JwtFailure : byte
{
    None = 0,
    BadFormat,
    UnknownIssuer,
    AudienceNotAllowed,
    Expired,
    NotYetValid,
    KeyNotFound,
    VerificationFailed,
}

internal static class JwtFailures
{
    /// <summary>The challenge sent with every 401 (RFC 6750 §3); fixed, so no request byte reaches it.</summary>
    public static ReadOnlySpan<byte> WwwAuthenticate => "www-authenticate: Bearer error=\"invalid_token\"\r\n"u8;

    public static ReadOnlySpan<byte> Body(JwtFailure failure) => failure switch
    {
        JwtFailure.BadFormat => "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"u8,
        JwtFailure.UnknownIssuer => "Jwt issuer is not configured"u8,
        JwtFailure.AudienceNotAllowed => "Audiences in Jwt are not allowed"u8,
        JwtFailure.Expired => "Jwt is expired"u8,
        JwtFailure.NotYetValid => "Jwt not yet valid"u8,
        JwtFailure.KeyNotFound => "Jwks doesn't have key to match kid or alg from Jwt"u8,
        _ => "Jwt verification fails"u8,
    };
}
