// path_normalization and request_authentication read from YAML, and every mistake in them reported at once with file,
// line and field path: a JWKS that cannot be read or parsed names its file and field.
using FastPath.Config;
using FastPath.EndToEnd.Testing;
using FastPath.Http.Normalization;

namespace FastPath.Core.Tests.Config;

public sealed class SecurityConfigTests : IDisposable
{
    private const string File = "gateway.yaml";
    private static readonly JwtSigner Signer = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("fastpath-jwks-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Yaml(string topLevel) => $$"""
        {{topLevel}}
        listeners:
          - name: public
            port: 8080
            virtual_hosts:
              - domains: ["*"]
                routes: [{prefix: /, cluster: web}]
        clusters:
          - name: web
            endpoints: ["127.0.0.1:9000"]
        """;

    private string JwksFile(string content)
    {
        string path = Path.Combine(_dir, $"jwks-{Guid.NewGuid():N}.json");
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    private static IReadOnlyList<ConfigError> Errors(string yaml) =>
        Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File)).Errors;

    [Fact]
    public void Parse_NoSecurityFields_BaseNormalisationAndNoJwtRules()
    {
        GatewayConfig config = GatewayConfigLoader.Parse(Yaml(""), File);
        Assert.Equal(PathNormalization.Base, config.PathNormalization);
        Assert.Null(config.RequestAuthentication);
    }

    [Theory]
    [InlineData("NONE", PathNormalization.None)]
    [InlineData("BASE", PathNormalization.Base)]
    [InlineData("MERGE_SLASHES", PathNormalization.MergeSlashes)]
    [InlineData("DECODE_AND_MERGE_SLASHES", PathNormalization.DecodeAndMergeSlashes)]
    public void Parse_PathNormalization_Read(string value, PathNormalization expected) =>
        Assert.Equal(expected, GatewayConfigLoader.Parse(Yaml($"path_normalization: {value}"), File).PathNormalization);

    [Fact]
    public void Parse_UnknownPathNormalization_ErrorWithLine()
    {
        ConfigError e = Assert.Single(Errors(Yaml("path_normalization: base")));
        Assert.Equal("path_normalization", e.Path);
        Assert.Equal(1, e.Line);
        Assert.Contains("MERGE_SLASHES", e.Message);
    }

    [Fact]
    public void Parse_EveryJwtRuleField_Read()
    {
        string file = JwksFile(Signer.Jwks());
        GatewayConfig config = GatewayConfigLoader.Parse(Yaml($$"""
            request_authentication:
              jwt_rules:
                - issuer: https://issuer.example
                  audiences: [api.example, web.example]
                  jwks_file: {{file}}
                  from_headers: [{name: x-jwt, prefix: "Bearer "}, {name: x-token}]
                  from_params: [access_token]
                  forward_original_token: true
                  output_payload_to_header: x-jwt-payload
                  clock_skew: 30s
                - issuer: second
                  jwks: '{{Signer.Jwks()}}'
            """), File);
        JwtRuleConfig rule = config.RequestAuthentication!.JwtRules[0];
        Assert.Equal("https://issuer.example", rule.Issuer);
        Assert.Equal(["api.example", "web.example"], rule.Audiences);
        Assert.Equal(file, rule.JwksFile);
        Assert.Equal([new JwtHeaderConfig("x-jwt", "Bearer "), new JwtHeaderConfig("x-token", "")], rule.FromHeaders);
        Assert.Equal(["access_token"], rule.FromParams);
        Assert.True(rule.ForwardOriginalToken);
        Assert.Equal("x-jwt-payload", rule.OutputPayloadToHeader);
        Assert.Equal(TimeSpan.FromSeconds(30), rule.ClockSkew);
        JwtRuleConfig second = config.RequestAuthentication.JwtRules[1];
        Assert.Equal(Signer.Jwks(), second.Jwks);
        Assert.Equal(TimeSpan.FromSeconds(60), second.ClockSkew);
        Assert.Equal([JwtHeaderConfig.AuthorizationBearer], second.EffectiveHeaders);
        Assert.Equal(["access_token"], second.EffectiveParams);
        Assert.Equal(rule.FromHeaders, rule.EffectiveHeaders);
        Assert.Equal(rule.FromParams, rule.EffectiveParams);
        Assert.False(second.ForwardOriginalToken);
    }

    [Fact]
    public void Parse_EveryJwtRuleMistake_ReportedAtOnce()
    {
        string broken = JwksFile("{\"keys\": [ not json");
        string noKeys = JwksFile("{\"keys\": [{\"kty\": \"oct\", \"k\": \"c2VjcmV0\"}]}");
        IReadOnlyList<ConfigError> errors = Errors(Yaml($$"""
            request_authentication:
              jwt_rules:
                - audiences: [api]
                  jwks: '{{Signer.Jwks()}}'
                - issuer: a
                  jwks_uri: https://issuer.example/jwks
                - issuer: b
                - issuer: c
                  jwks_file: {{broken}}
                - issuer: d
                  jwks_file: {{Path.Combine(_dir, "missing.json")}}
                - issuer: e
                  jwks_file: {{noKeys}}
                - issuer: e
                  jwks: '{{Signer.Jwks()}}'
                  from_headers: [{name: "bad header"}]
                  from_params: ["a&b"]
                  output_payload_to_header: "x y"
                  forward_original_token: maybe
                  color: blue
            """));
        string[] paths = errors.Select(e => e.Path).ToArray();
        Assert.Contains("request_authentication.jwt_rules[0].issuer", paths);
        Assert.Contains("request_authentication.jwt_rules[1].jwks_uri", paths);
        Assert.Contains("request_authentication.jwt_rules[2].jwks_file", paths);
        ConfigError parse = errors.Single(e => e.Path == "request_authentication.jwt_rules[3].jwks_file");
        Assert.Contains(broken, parse.Message);
        Assert.Contains("not a JSON Web Key Set", parse.Message);
        Assert.True(parse.Line > 0);
        Assert.Contains("missing.json", errors.Single(e => e.Path == "request_authentication.jwt_rules[4].jwks_file").Message);
        Assert.Contains("no usable signing key", errors.Single(e => e.Path == "request_authentication.jwt_rules[5].jwks_file").Message);
        Assert.Contains("request_authentication.jwt_rules[6].issuer", paths); // duplicate of rule 5's
        Assert.Contains("request_authentication.jwt_rules[6].from_headers[0].name", paths);
        Assert.Contains("request_authentication.jwt_rules[6].from_params[0]", paths);
        Assert.Contains("request_authentication.jwt_rules[6].output_payload_to_header", paths);
        Assert.Contains("request_authentication.jwt_rules[6].forward_original_token", paths);
        Assert.Contains("request_authentication.jwt_rules[6].color", paths);
    }

    [Fact]
    public void Parse_EcKeyOffTheCurve_ErrorAtLoadNamingTheKey()
    {
        string bogus = JwtSigner.B64(Enumerable.Repeat((byte)7, 32).ToArray());
        string file = JwksFile($$"""{"keys":[{"kty":"EC","kid":"bad-ec","crv":"P-256","x":"{{bogus}}","y":"{{bogus}}"}]}""");
        ConfigError e = Assert.Single(Errors(Yaml($$"""
            request_authentication:
              jwt_rules: [{issuer: a, jwks_file: {{file}}}]
            """)));
        Assert.Equal("request_authentication.jwt_rules[0].jwks_file", e.Path);
        Assert.Contains("bad-ec", e.Message);
    }

    [Fact]
    public void Parse_BothJwksFileAndInline_Error()
    {
        IReadOnlyList<ConfigError> errors = Errors(Yaml($$"""
            request_authentication:
              jwt_rules:
                - issuer: a
                  jwks_file: {{JwksFile(Signer.Jwks())}}
                  jwks: '{{Signer.Jwks()}}'
            """));
        Assert.Contains("exactly one of jwks_file and jwks", Assert.Single(errors).Message);
    }
}
