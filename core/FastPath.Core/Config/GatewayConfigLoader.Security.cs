// YAML for request-level security: path_normalization and request_authentication (Istio jwtRules in snake_case).
using FastPath.Http.Normalization;
using YamlDotNet.RepresentationModel;

namespace FastPath.Config;

public static partial class GatewayConfigLoader
{
    private sealed partial class Reader
    {
        /// <summary>Reads one of the top-level security fields (path_normalization, request_authentication).</summary>
        private GatewayConfig ReadSecurityField(GatewayConfig config, string key, YamlNode value) => key switch
        {
            "path_normalization" => config with { PathNormalization = ReadPathNormalization(value, key) },
            _ => config with { RequestAuthentication = ReadRequestAuthentication(value, key) },
        };

        private PathNormalization ReadPathNormalization(YamlNode node, string path)
        {
            string? s = Scalar(node, path);
            switch (s)
            {
                case "NONE": return PathNormalization.None;
                case "BASE": return PathNormalization.Base;
                case "MERGE_SLASHES": return PathNormalization.MergeSlashes;
                case "DECODE_AND_MERGE_SLASHES": return PathNormalization.DecodeAndMergeSlashes;
                default:
                    if (s is not null) Error(node, path, $"expected NONE, BASE, MERGE_SLASHES or DECODE_AND_MERGE_SLASHES, got '{s}'");
                    return PathNormalization.Base;
            }
        }

        private RequestAuthenticationConfig ReadRequestAuthentication(YamlNode node, string path)
        {
            var r = new RequestAuthenticationConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "jwt_rules"))
                r = r with { JwtRules = List(value, $"{path}.{key}", ReadJwtRule) };
            return r;
        }

        private JwtRuleConfig ReadJwtRule(YamlNode node, string path)
        {
            var j = new JwtRuleConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "issuer", "audiences", "jwks_file", "jwks", "jwks_uri",
                         "from_headers", "from_params", "forward_original_token", "output_payload_to_header", "clock_skew"))
            {
                string p = $"{path}.{key}";
                j = key switch
                {
                    "issuer" => j with { Issuer = Scalar(value, p) ?? "" },
                    "audiences" => j with { Audiences = List(value, p, (n, q) => Scalar(n, q) ?? "") },
                    "jwks_file" => j with { JwksFile = Scalar(value, p) ?? "" },
                    "jwks" => j with { Jwks = Scalar(value, p) ?? "" },
                    "jwks_uri" => j with { JwksUri = Scalar(value, p) ?? "" },
                    "from_headers" => j with { FromHeaders = List(value, p, ReadJwtHeader) },
                    "from_params" => j with { FromParams = List(value, p, (n, q) => Scalar(n, q) ?? "") },
                    "forward_original_token" => j with { ForwardOriginalToken = Bool(value, p) },
                    "output_payload_to_header" => j with { OutputPayloadToHeader = Scalar(value, p) ?? "" },
                    _ => j with { ClockSkew = Duration(value, p) },
                };
            }
            return j;
        }

        private JwtHeaderConfig ReadJwtHeader(YamlNode node, string path)
        {
            string name = "", prefix = "";
            foreach ((string key, YamlNode value) in Fields(node, path, "name", "prefix"))
            {
                if (key == "name") name = Scalar(value, $"{path}.{key}") ?? "";
                else prefix = Scalar(value, $"{path}.{key}") ?? "";
            }
            return new JwtHeaderConfig(name, prefix);
        }
    }
}
