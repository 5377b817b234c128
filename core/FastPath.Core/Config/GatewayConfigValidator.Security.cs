// Semantic checks of request_authentication: every rule names an issuer and exactly one readable key set, and every
// header or parameter it reads could occur on the wire.
using FastPath.Security.Authentication;

namespace FastPath.Config;

public static partial class GatewayConfigValidator
{
    private static void ValidateRequestAuthentication(RequestAuthenticationConfig? authn, Action<string, string> error)
    {
        if (authn is null) return;
        var issuers = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < authn.JwtRules.Count; i++)
        {
            JwtRuleConfig rule = authn.JwtRules[i];
            string p = $"request_authentication.jwt_rules[{i}]";
            if (string.IsNullOrWhiteSpace(rule.Issuer)) error($"{p}.issuer", "an issuer is required (it must equal the token's iss claim)");
            else if (!issuers.Add(rule.Issuer)) error($"{p}.issuer", $"issuer '{rule.Issuer}' already has a rule");
            for (int j = 0; j < rule.Audiences.Count; j++)
                if (string.IsNullOrWhiteSpace(rule.Audiences[j])) error($"{p}.audiences[{j}]", "an audience cannot be empty");

            if (rule.JwksUri is not null)
                error($"{p}.jwks_uri", "jwks_uri is not supported yet: give the key set with jwks_file or jwks");
            else if (rule.JwksFile is null == (rule.Jwks is null))
                error($"{p}.jwks_file", "exactly one of jwks_file and jwks is required");
            else if (rule.JwksFile is { Length: 0 })
                error($"{p}.jwks_file", "expected a file path");
            else if (JwksLoader.TryLoad(rule, out string field, out string message) is null)
                error($"{p}.{field}", message);

            for (int j = 0; j < rule.FromHeaders.Count; j++)
            {
                JwtHeaderConfig h = rule.FromHeaders[j];
                if (!IsToken(h.Name)) error($"{p}.from_headers[{j}].name", $"invalid header name '{h.Name}'");
                if (h.Prefix.Any(ch => ch < 0x20 || ch > 0x7e)) error($"{p}.from_headers[{j}].prefix", "a prefix is visible ASCII or spaces");
            }
            for (int j = 0; j < rule.FromParams.Count; j++)
                if (rule.FromParams[j].Length == 0 || rule.FromParams[j].Any(ch => ch is '&' or '=' or '#' or '?' || ch <= ' ' || ch > '~'))
                    error($"{p}.from_params[{j}]", $"invalid query parameter name '{rule.FromParams[j]}'");
            if (rule.OutputPayloadToHeader is { } header && !IsToken(header))
                error($"{p}.output_payload_to_header", $"invalid header name '{header}'");
            if (rule.ClockSkew < TimeSpan.Zero) error($"{p}.clock_skew", "must not be negative");
        }
    }
}
