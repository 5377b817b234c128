// Request-level security read from the top of the file: how paths are normalised before routing, and which JWTs are
// accepted (Istio RequestAuthentication jwtRules, in snake_case).
namespace FastPath.Config;

public sealed record RequestAuthenticationConfig
{
    public IReadOnlyList<JwtRuleConfig> JwtRules { get; init; } = [];
}

public sealed record JwtRuleConfig
{
    /// <summary>Must equal the token's iss claim.</summary>
    public string Issuer { get; init; } = "";
    /// <summary>Accepted aud values; empty accepts any audience (Istio).</summary>
    public IReadOnlyList<string> Audiences { get; init; } = [];
    /// <summary>Path of a JWKS document, read at every (re)load; exactly one of this and <see cref="Jwks"/>.</summary>
    public string? JwksFile { get; init; }
    /// <summary>A JWKS document inline.</summary>
    public string? Jwks { get; init; }
    /// <summary>Set when the file names jwks_uri, which is not supported yet (reported by the validator).</summary>
    public string? JwksUri { get; init; }
    /// <summary>Headers that may carry the token; with no from_params either, Authorization: Bearer and access_token.</summary>
    public IReadOnlyList<JwtHeaderConfig> FromHeaders { get; init; } = [];
    /// <summary>Query parameters that may carry the token.</summary>
    public IReadOnlyList<string> FromParams { get; init; } = [];
    /// <summary>False (default) removes the header that carried the token before forwarding (Istio).</summary>
    public bool ForwardOriginalToken { get; init; }
    /// <summary>A header to send the verified payload in (base64url, as Envoy does); null for none.</summary>
    public string? OutputPayloadToHeader { get; init; }
    /// <summary>Tolerance on exp and nbf (Envoy's default is 60 s).</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Whether the rule names no location, so Envoy's defaults apply: Authorization: Bearer, then access_token.</summary>
    public bool UsesDefaultLocations => FromHeaders.Count == 0 && FromParams.Count == 0;

    /// <summary>The header locations in effect: the configured ones, or Authorization with "Bearer ".</summary>
    public IReadOnlyList<JwtHeaderConfig> EffectiveHeaders => UsesDefaultLocations ? [JwtHeaderConfig.AuthorizationBearer] : FromHeaders;

    /// <summary>The query parameters in effect: the configured ones, or access_token.</summary>
    public IReadOnlyList<string> EffectiveParams => UsesDefaultLocations ? [JwtHeaderConfig.AccessTokenParam] : FromParams;
}

public sealed record JwtHeaderConfig(string Name, string Prefix)
{
    public static readonly JwtHeaderConfig AuthorizationBearer = new("authorization", "Bearer ");

    /// <summary>The query parameter Envoy reads a token from when a rule names no location.</summary>
    public const string AccessTokenParam = "access_token";
}
