// /config_dump for request-level security: the path normalisation mode and the JWT rules (where their keys come from,
// never the keys themselves), kept apart from AdminServer's dump of the HTTP model.
using System.Text.Json;
using FastPath.Config;
using FastPath.Http.Normalization;

namespace FastPath.Observability.Admin;

internal static class SecurityDump
{
    public static void Write(Utf8JsonWriter w, GatewayConfig config)
    {
        w.WriteString("path_normalization", config.PathNormalization switch
        {
            PathNormalization.None => "NONE",
            PathNormalization.MergeSlashes => "MERGE_SLASHES",
            PathNormalization.DecodeAndMergeSlashes => "DECODE_AND_MERGE_SLASHES",
            _ => "BASE",
        });
        if (config.RequestAuthentication is not { JwtRules.Count: > 0 } authn) return;
        w.WriteStartObject("request_authentication");
        w.WriteStartArray("jwt_rules");
        foreach (JwtRuleConfig rule in authn.JwtRules)
        {
            w.WriteStartObject();
            w.WriteString("issuer", rule.Issuer);
            w.WriteStartArray("audiences");
            foreach (string a in rule.Audiences) w.WriteStringValue(a);
            w.WriteEndArray();
            w.WriteString("jwks", rule.JwksFile ?? "(inline)");
            w.WriteStartArray("from_headers");
            foreach (JwtHeaderConfig h in rule.EffectiveHeaders)
            {
                w.WriteStartObject();
                w.WriteString("name", h.Name);
                w.WriteString("prefix", h.Prefix);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("from_params");
            foreach (string p in rule.EffectiveParams) w.WriteStringValue(p);
            w.WriteEndArray();
            w.WriteBoolean("forward_original_token", rule.ForwardOriginalToken);
            if (rule.OutputPayloadToHeader is { } header) w.WriteString("output_payload_to_header", header);
            w.WriteString("clock_skew", $"{(long)rule.ClockSkew.TotalMilliseconds}ms");
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
