// The JWT stage of the request path (Istio RequestAuthentication, Envoy jwt_authn): finds tokens where the rules say
// they may be, verifies each with the rule of its issuer through Microsoft.IdentityModel (RS256, PS256, ES256 only),
// and sets the request principal. A request without a token passes with no identity and costs no allocation; one
// with a token that fails is refused (401). Built once per config snapshot.
using System.Text;
using System.Text.Json;
using FastPath.Config;
using FastPath.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FastPath.Security.Authentication;

internal sealed class RequestAuthenticator
{
    // Asymmetric algorithms only: HS256 (a "secret" forged from the public key, the alg-confusion attack) and "none"
    // are refused whatever the token's header says.
    private static readonly string[] Algorithms = [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.EcdsaSha256];

    private readonly TokenLocation[] _headers;
    private readonly TokenLocation[] _params;
    private readonly JsonWebTokenHandler _handler = new();

    private RequestAuthenticator(TokenLocation[] headers, TokenLocation[] @params)
    {
        _headers = headers;
        _params = @params;
    }

    /// <summary>The authenticator for a validated config, or null when it has no JWT rules (nothing to do per request).</summary>
    public static RequestAuthenticator? Build(RequestAuthenticationConfig? config, string file)
    {
        if (config is null || config.JwtRules.Count == 0) return null;
        var headers = new List<TokenLocation>();
        var @params = new List<TokenLocation>();
        for (int i = 0; i < config.JwtRules.Count; i++)
        {
            // Validated already; a key file that changed in between is still an error of this load, not a crash.
            JwtRuleConfig ruleConfig = config.JwtRules[i];
            IList<SecurityKey> keys = JwksLoader.TryLoad(ruleConfig, out string field, out string error)
                ?? throw new ConfigException([new ConfigError(file, 0, 0, $"request_authentication.jwt_rules[{i}].{field}", error)]);
            var rule = new JwtRule(ruleConfig, Parameters(ruleConfig, keys));
            foreach (JwtHeaderConfig h in ruleConfig.EffectiveHeaders)
                Find(headers, Encoding.ASCII.GetBytes(h.Name), Encoding.ASCII.GetBytes(h.Prefix)).Add(rule);
            foreach (string p in ruleConfig.EffectiveParams)
                Find(@params, Encoding.UTF8.GetBytes(p), []).Add(rule);
        }
        return new RequestAuthenticator([.. headers], [.. @params]);
    }

    private static TokenLocation Find(List<TokenLocation> locations, byte[] name, byte[] prefix)
    {
        foreach (TokenLocation l in locations)
            if (l.Name.AsSpan().SequenceEqual(name) && l.Prefix.AsSpan().SequenceEqual(prefix)) return l;
        var location = new TokenLocation(name, prefix);
        locations.Add(location);
        return location;
    }

    private static TokenValidationParameters Parameters(JwtRuleConfig rule, IList<SecurityKey> keys) => new()
    {
        ValidIssuer = rule.Issuer,
        ValidateIssuer = true,
        ValidAudiences = rule.Audiences,
        ValidateAudience = rule.Audiences.Count > 0, // Istio: no audiences listed accepts any
        IssuerSigningKeys = keys,
        ValidAlgorithms = Algorithms,
        RequireSignedTokens = true,
        ValidateLifetime = true,
        RequireExpirationTime = false, // Envoy and Istio accept a token without exp; one with exp is checked
        ClockSkew = rule.ClockSkew,
        SaveSigninToken = false,
    };

    /// <summary>
    /// Verifies every token the request carries in a configured location. None: passes with a null identity. All
    /// valid: the first one's identity, and tokens not to be forwarded are removed. Any invalid: its failure (401);
    /// a request cannot pair a good token with a bad one that the origin might read instead.
    /// </summary>
    public JwtFailure Authenticate(HttpRequestHead request, out RequestIdentity? identity)
    {
        identity = null;
        HttpHeaderBlock headers = request.Headers;
        foreach (TokenLocation location in _headers)
        {
            // Every field of the location's name: a second Authorization must not slip an unverified token through.
            for (int i = 0; i < headers.Count; i++)
            {
                ref HeaderEntry field = ref headers[i];
                if (field.Skip || field.NameLength != location.Name.Length || !Ascii.EqualsIgnoreCase(headers.Name(field), location.Name)) continue;
                ReadOnlySpan<byte> value = headers.Value(field);
                // A value without the prefix is not a token for this location (Envoy): "Basic ..." is left alone.
                if (value.Length < location.Prefix.Length || !Ascii.EqualsIgnoreCase(value[..location.Prefix.Length], location.Prefix)) continue;
                JwtFailure failure = Verify(value[location.Prefix.Length..].Trim((byte)' '), location, headers, ref identity, out JwtRule? rule);
                if (failure != JwtFailure.None) return failure;
                if (!rule!.ForwardOriginalToken) headers[i].Skip = true; // by index: the payload header may have grown the table
            }
        }
        if (_params.Length == 0) return JwtFailure.None;
        ReadOnlySpan<byte> target = request.Path;
        int q = target.IndexOf((byte)'?');
        if (q < 0) return JwtFailure.None;
        foreach (TokenLocation location in _params)
        {
            // Every occurrence, as for headers: the origin may read another one than the first.
            ReadOnlySpan<byte> query = target[(q + 1)..];
            while (NextParam(ref query, location.Name, out ReadOnlySpan<byte> token))
            {
                JwtFailure failure = Verify(token, location, headers, ref identity, out _);
                if (failure != JwtFailure.None) return failure;
            }
        }
        return JwtFailure.None;
    }

    /// <summary>The raw value of the next "name=value" pair in <paramref name="query"/>, which moves past it.</summary>
    private static bool NextParam(ref ReadOnlySpan<byte> query, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        while (!query.IsEmpty)
        {
            int amp = query.IndexOf((byte)'&');
            ReadOnlySpan<byte> pair = amp < 0 ? query : query[..amp];
            query = amp < 0 ? default : query[(amp + 1)..];
            if (pair.Length > name.Length && pair[name.Length] == (byte)'=' && pair.StartsWith(name))
            {
                value = pair[(name.Length + 1)..];
                return true;
            }
        }
        value = default;
        return false;
    }

    private JwtFailure Verify(ReadOnlySpan<byte> token, TokenLocation location, HttpHeaderBlock headers, ref RequestIdentity? identity,
        out JwtRule? rule)
    {
        rule = null;
        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(Encoding.ASCII.GetString(token));
        }
        catch (ArgumentException)
        {
            return JwtFailure.BadFormat;
        }
        string issuer;
        try
        {
            issuer = jwt.Issuer;
        }
        catch (ArgumentException)
        {
            return JwtFailure.BadFormat;
        }
        foreach (JwtRule r in location.Rules)
        {
            if (!string.Equals(r.Issuer, issuer, StringComparison.Ordinal)) continue;
            rule = r;
            break;
        }
        if (rule is null) return JwtFailure.UnknownIssuer;

        // The handler completes synchronously: its keys are fixed (no configuration manager to fetch from).
        TokenValidationResult result = _handler.ValidateTokenAsync(jwt, rule.Parameters).GetAwaiter().GetResult();
        if (!result.IsValid) return Classify(result.Exception);
        identity ??= Identity(jwt);
        rule.OutputPayload(headers, jwt.EncodedPayload);
        return JwtFailure.None;
    }

    private static JwtFailure Classify(Exception? e) => e switch
    {
        SecurityTokenExpiredException => JwtFailure.Expired,
        SecurityTokenNotYetValidException => JwtFailure.NotYetValid,
        SecurityTokenInvalidAudienceException => JwtFailure.AudienceNotAllowed,
        SecurityTokenInvalidIssuerException => JwtFailure.UnknownIssuer,
        SecurityTokenSignatureKeyNotFoundException => JwtFailure.KeyNotFound,
        SecurityTokenMalformedException => JwtFailure.BadFormat,
        _ => JwtFailure.VerificationFailed,
    };

    private static RequestIdentity Identity(JsonWebToken jwt)
    {
        byte[] payload = Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload);
        var reader = new Utf8JsonReader(payload);
        JsonElement claims = JsonElement.ParseValue(ref reader);
        string? presenter = claims.TryGetProperty("azp", out JsonElement azp) && azp.ValueKind == JsonValueKind.String ? azp.GetString() : null;
        var audiences = new List<string>();
        foreach (string aud in jwt.Audiences) audiences.Add(aud);
        return new RequestIdentity(jwt.Issuer, jwt.Subject ?? "", audiences, presenter, claims);
    }

    /// <summary>A header, or a query parameter, that may carry a token, and the rules that accept tokens from it.</summary>
    private sealed class TokenLocation(byte[] name, byte[] prefix)
    {
        public readonly byte[] Name = name;
        public readonly byte[] Prefix = prefix;
        private JwtRule[] _rules = [];

        public JwtRule[] Rules => _rules;

        public void Add(JwtRule rule) => _rules = [.. _rules, rule];
    }

    private sealed class JwtRule(JwtRuleConfig config, TokenValidationParameters parameters)
    {
        public readonly string Issuer = config.Issuer;
        public readonly TokenValidationParameters Parameters = parameters;
        public readonly bool ForwardOriginalToken = config.ForwardOriginalToken;
        private readonly byte[]? _payloadHeader = config.OutputPayloadToHeader is { Length: > 0 } h ? Encoding.ASCII.GetBytes(h) : null;

        /// <summary>Envoy's forward_payload_header: the verified payload, base64url as it came in the token.</summary>
        public void OutputPayload(HttpHeaderBlock headers, string encodedPayload)
        {
            if (_payloadHeader is not null) headers.Set(_payloadHeader, Encoding.ASCII.GetBytes(encodedPayload));
        }
    }
}
