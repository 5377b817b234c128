// RequestAuthenticator on parsed request heads: real RSA 2048 / P-256 keys generated per run, tokens signed in the
// test with System.Security.Cryptography, verified by the gateway's code path (Microsoft.IdentityModel).
using System.Text;
using FastPath.Config;
using FastPath.Core.Tests.Testing;
using FastPath.EndToEnd.Testing;
using FastPath.Http;
using FastPath.Security;
using FastPath.Security.Authentication;

namespace FastPath.Core.Tests.Security.Authentication;

public sealed class RequestAuthenticatorTests
{
    // One key pair for the class: RSA 2048 generation is the slow part of these tests.
    private static readonly JwtSigner SharedSigner = new();
    private readonly JwtSigner _signer = SharedSigner;

    private JwtRuleConfig Rule(Func<JwtRuleConfig, JwtRuleConfig>? change = null)
    {
        var rule = new JwtRuleConfig { Issuer = JwtSigner.Issuer, Audiences = [JwtSigner.Audience], Jwks = _signer.Jwks() };
        return change is null ? rule : change(rule);
    }

    private static RequestAuthenticator Authenticator(params JwtRuleConfig[] rules) =>
        RequestAuthenticator.Build(new RequestAuthenticationConfig { JwtRules = rules }, "test.yaml")!;

    private static HttpRequestHead Request(string target = "/api", params string[] headers)
    {
        var head = new HttpRequestHead();
        string text = $"GET {target} HTTP/1.1\r\nHost: a.example\r\n{string.Concat(headers.Select(h => h + "\r\n"))}\r\n";
        HeadOutcome parsed = HeadParseDriver.ParseRequest(SegmentedInput.Create(Encoding.ASCII.GetBytes(text), []), head);
        Assert.Equal(FastPath.Http1.Http1ParseResult.Complete, parsed.Result);
        return head;
    }

    private static HttpRequestHead Bearer(string token) => Request("/api", "Authorization: Bearer " + token);

    private JwtFailure Check(string token, out RequestIdentity? identity, JwtRuleConfig? rule = null) =>
        Authenticator(rule ?? Rule()).Authenticate(Bearer(token), out identity);

    private static bool Forwarded(HttpRequestHead head, string name)
    {
        int i = head.Headers.IndexOfName(Encoding.ASCII.GetBytes(name));
        return i >= 0 && !head.Headers[i].Skip;
    }

    [Theory]
    [InlineData("RS256")]
    [InlineData("PS256")]
    [InlineData("ES256")]
    public void Authenticate_ValidToken_SetsRequestPrincipalAndClaims(string alg)
    {
        Dictionary<string, object> claims = JwtSigner.Claims(subject: "alice");
        claims["groups"] = new[] { "admins", "dev" };
        claims["azp"] = "web-app";
        Assert.Equal(JwtFailure.None, Check(_signer.Token(alg, claims), out RequestIdentity? identity));
        Assert.NotNull(identity);
        Assert.Equal("https://issuer.example/alice", identity.Principal);
        Assert.Equal([JwtSigner.Audience], identity.Audiences);
        Assert.Equal("web-app", identity.Presenter);
        var values = new List<string>();
        Assert.True(identity.TryGetClaim(["groups"], values));
        Assert.Equal(["admins", "dev"], values);
    }

    [Fact]
    public void Authenticate_NoToken_PassesWithoutIdentity()
    {
        Assert.Equal(JwtFailure.None, Authenticator(Rule()).Authenticate(Request(), out RequestIdentity? identity));
        Assert.Null(identity);
    }

    [Fact]
    public void Authenticate_AuthorizationWithOtherScheme_IsNotAToken()
    {
        Assert.Equal(JwtFailure.None, Authenticator(Rule()).Authenticate(Request("/", "Authorization: Basic dXNlcjpwYXNz"), out RequestIdentity? identity));
        Assert.Null(identity);
    }

    [Fact]
    public void Authenticate_Expired_Refused() =>
        Assert.Equal(JwtFailure.Expired, Check(_signer.Token("RS256", JwtSigner.Claims(expiresIn: TimeSpan.FromMinutes(-5))), out _));

    [Fact]
    public void Authenticate_ExpiredWithinClockSkew_Accepted() =>
        Assert.Equal(JwtFailure.None, Check(_signer.Token("RS256", JwtSigner.Claims(expiresIn: TimeSpan.FromSeconds(-30))), out _));

    [Fact]
    public void Authenticate_ExpiredBeyondConfiguredSkew_Refused() =>
        Assert.Equal(JwtFailure.Expired, Check(_signer.Token("RS256", JwtSigner.Claims(expiresIn: TimeSpan.FromSeconds(-30))), out _,
            Rule(r => r with { ClockSkew = TimeSpan.FromSeconds(5) })));

    [Fact]
    public void Authenticate_NotBeforeInFuture_Refused() =>
        Assert.Equal(JwtFailure.NotYetValid, Check(_signer.Token("ES256", JwtSigner.Claims(notBeforeIn: TimeSpan.FromMinutes(5))), out _));

    [Fact]
    public void Authenticate_NotBeforeWithinClockSkew_Accepted() =>
        Assert.Equal(JwtFailure.None, Check(_signer.Token("ES256", JwtSigner.Claims(notBeforeIn: TimeSpan.FromSeconds(30))), out _));

    [Fact]
    public void Authenticate_IssuerWithoutRule_Refused() =>
        Assert.Equal(JwtFailure.UnknownIssuer, Check(_signer.Token("RS256", JwtSigner.Claims(issuer: "https://evil.example")), out _));

    [Fact]
    public void Authenticate_WrongAudience_Refused() =>
        Assert.Equal(JwtFailure.AudienceNotAllowed, Check(_signer.Token("RS256", JwtSigner.Claims(audience: "other.example")), out _));

    [Fact]
    public void Authenticate_NoAudiencesConfigured_AnyAudienceAccepted() =>
        Assert.Equal(JwtFailure.None, Check(_signer.Token("RS256", JwtSigner.Claims(audience: "other.example")), out _,
            Rule(r => r with { Audiences = [] })));

    [Fact]
    public void Authenticate_OneOfSeveralAudiences_Accepted() =>
        Assert.Equal(JwtFailure.None, Check(_signer.Token("RS256", JwtSigner.Claims(audience: new[] { "x.example", JwtSigner.Audience })), out _));

    [Fact]
    public void Authenticate_SignedByAnotherKeyWithSameKid_Refused()
    {
        using var other = new JwtSigner();
        Assert.Equal(JwtFailure.VerificationFailed, Check(other.Token("RS256"), out _));
        Assert.Equal(JwtFailure.VerificationFailed, Check(other.Token("ES256"), out _));
    }

    [Fact]
    public void Authenticate_UnknownKid_Refused()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        JwtFailure failure = Check(JwtSigner.Sign("RS256", rsa, "unknown-kid", JwtSigner.Claims()), out RequestIdentity? identity);
        Assert.Contains(failure, new[] { JwtFailure.KeyNotFound, JwtFailure.VerificationFailed });
        Assert.Null(identity);
    }

    [Fact]
    public void Authenticate_AlgNone_Refused() => Assert.NotEqual(JwtFailure.None, Check(_signer.Unsigned(), out _));

    [Fact]
    public void Authenticate_Hs256KeyedWithPublicKey_Refused() => Assert.NotEqual(JwtFailure.None, Check(_signer.Hs256WithPublicKey(), out _));

    [Fact]
    public void Authenticate_TamperedPayload_Refused()
    {
        string[] parts = _signer.Token("RS256").Split('.');
        Dictionary<string, object> forged = JwtSigner.Claims(subject: "admin");
        string payload = JwtSigner.B64(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(forged));
        Assert.Equal(JwtFailure.VerificationFailed, Check($"{parts[0]}.{payload}.{parts[2]}", out _));
    }

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("a.b.c")]
    [InlineData("..")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.e30")]
    public void Authenticate_Malformed_Refused(string token)
    {
        JwtFailure failure = Check(token, out _);
        Assert.Contains(failure, new[] { JwtFailure.BadFormat, JwtFailure.VerificationFailed, JwtFailure.UnknownIssuer });
    }

    [Fact]
    public void Authenticate_BearerWithoutToken_IsNotAToken()
    {
        // The parser drops the trailing space, so "Bearer" lacks the "Bearer " prefix: no token, as in Envoy.
        Assert.Equal(JwtFailure.None, Authenticator(Rule()).Authenticate(Request("/", "Authorization: Bearer "), out RequestIdentity? identity));
        Assert.Null(identity);
    }

    [Fact]
    public void Authenticate_BearerWithSpacesOnly_Refused() =>
        Assert.Equal(JwtFailure.BadFormat, Authenticator(Rule()).Authenticate(Request("/", "Authorization: Bearer   x"), out _));

    [Fact]
    public void Authenticate_CustomHeader_TokenFoundThereOnly()
    {
        RequestAuthenticator authn = Authenticator(Rule(r => r with { FromHeaders = [new JwtHeaderConfig("x-jwt", "")] }));
        HttpRequestHead custom = Request("/", "X-Jwt: " + _signer.Token("ES256"));
        Assert.Equal(JwtFailure.None, authn.Authenticate(custom, out RequestIdentity? identity));
        Assert.NotNull(identity);
        Assert.False(Forwarded(custom, "x-jwt"));
        // Authorization is not a configured location any more: a bad token there is not read.
        Assert.Equal(JwtFailure.None, authn.Authenticate(Bearer("garbage"), out identity));
        Assert.Null(identity);
    }

    [Fact]
    public void Authenticate_CustomHeaderPrefix_Stripped()
    {
        RequestAuthenticator authn = Authenticator(Rule(r => r with { FromHeaders = [new JwtHeaderConfig("x-auth", "Token ")] }));
        Assert.Equal(JwtFailure.None, authn.Authenticate(Request("/", "X-Auth: Token " + _signer.Token("RS256")), out RequestIdentity? identity));
        Assert.NotNull(identity);
    }

    [Fact]
    public void Authenticate_QueryParameter_TokenRead()
    {
        RequestAuthenticator authn = Authenticator(Rule(r => r with { FromParams = ["access_token"] }));
        Assert.Equal(JwtFailure.None, authn.Authenticate(Request("/api?x=1&access_token=" + _signer.Token("PS256")), out RequestIdentity? identity));
        Assert.NotNull(identity);
        Assert.Equal(JwtFailure.Expired, authn.Authenticate(
            Request("/api?access_token=" + _signer.Token("PS256", JwtSigner.Claims(expiresIn: TimeSpan.FromHours(-1)))), out _));
    }

    [Fact]
    public void Authenticate_NoLocationsConfigured_AccessTokenParameterReadToo()
    {
        RequestAuthenticator authn = Authenticator(Rule());
        Assert.Equal(JwtFailure.None, authn.Authenticate(Request("/api?access_token=" + _signer.Token("RS256")), out RequestIdentity? identity));
        Assert.NotNull(identity);
        Assert.Equal(JwtFailure.BadFormat, authn.Authenticate(Request("/api?access_token=garbage"), out _));
    }

    [Fact]
    public void Authenticate_OnlyParamsConfigured_AuthorizationNotRead()
    {
        RequestAuthenticator authn = Authenticator(Rule(r => r with { FromParams = ["token"] }));
        Assert.Equal(JwtFailure.None, authn.Authenticate(Bearer("garbage"), out RequestIdentity? identity));
        Assert.Null(identity);
        Assert.Equal(JwtFailure.None, authn.Authenticate(Request("/api?access_token=garbage"), out identity));
        Assert.Null(identity);
    }

    [Fact]
    public void Authenticate_SecondAuthorizationFieldWithBadToken_Refused()
    {
        HttpRequestHead head = Request("/", "Authorization: Bearer " + _signer.Token("RS256"), "Authorization: Bearer garbage");
        Assert.Equal(JwtFailure.BadFormat, Authenticator(Rule(r => r with { ForwardOriginalToken = true })).Authenticate(head, out _));
    }

    [Fact]
    public void Authenticate_SecondTokenParameterBad_Refused()
    {
        string target = $"/api?access_token={_signer.Token("ES256")}&access_token={_signer.Token("ES256", JwtSigner.Claims(expiresIn: TimeSpan.FromHours(-2)))}";
        Assert.Equal(JwtFailure.Expired, Authenticator(Rule()).Authenticate(Request(target), out _));
    }

    [Fact]
    public void Authenticate_ForwardOriginalTokenFalse_AuthorizationRemoved()
    {
        HttpRequestHead head = Bearer(_signer.Token("RS256"));
        Assert.Equal(JwtFailure.None, Authenticator(Rule()).Authenticate(head, out _));
        Assert.False(Forwarded(head, "authorization"));
    }

    [Fact]
    public void Authenticate_ForwardOriginalTokenTrue_AuthorizationKept()
    {
        HttpRequestHead head = Bearer(_signer.Token("RS256"));
        Assert.Equal(JwtFailure.None, Authenticator(Rule(r => r with { ForwardOriginalToken = true })).Authenticate(head, out _));
        Assert.True(Forwarded(head, "authorization"));
    }

    [Fact]
    public void Authenticate_OutputPayloadToHeader_VerifiedPayloadSent()
    {
        string token = _signer.Token("ES256");
        HttpRequestHead head = Bearer(token);
        Assert.Equal(JwtFailure.None, Authenticator(Rule(r => r with { OutputPayloadToHeader = "x-jwt-payload" })).Authenticate(head, out _));
        int i = head.Headers.IndexOfName("x-jwt-payload"u8);
        Assert.True(i >= 0);
        Assert.Equal(token.Split('.')[1], Encoding.ASCII.GetString(head.Headers.Value(head.Headers[i])));
    }

    [Fact]
    public void Authenticate_GoodTokenAndBadTokenInTwoPlaces_Refused()
    {
        RequestAuthenticator authn = Authenticator(Rule(r => r with
        {
            FromHeaders = [JwtHeaderConfig.AuthorizationBearer, new JwtHeaderConfig("x-jwt", "")],
        }));
        HttpRequestHead head = Request("/", "Authorization: Bearer " + _signer.Token("RS256"),
            "X-Jwt: " + _signer.Token("RS256", JwtSigner.Claims(expiresIn: TimeSpan.FromHours(-1))));
        Assert.Equal(JwtFailure.Expired, authn.Authenticate(head, out _));
    }

    [Fact]
    public void Authenticate_TwoIssuers_EachVerifiedWithItsOwnKeys()
    {
        using var second = new JwtSigner();
        RequestAuthenticator authn = Authenticator(Rule(), new JwtRuleConfig { Issuer = "https://second.example", Jwks = second.Jwks() });
        Assert.Equal(JwtFailure.None, authn.Authenticate(Bearer(second.Token("ES256", JwtSigner.Claims(issuer: "https://second.example"))), out RequestIdentity? identity));
        Assert.Equal("https://second.example/user-1", identity!.Principal);
        // The second issuer's name on a token signed with the first issuer's key fails.
        Assert.Equal(JwtFailure.VerificationFailed, authn.Authenticate(Bearer(_signer.Token("ES256", JwtSigner.Claims(issuer: "https://second.example"))), out _));
    }

    [Theory]
    [InlineData("RS256")]
    [InlineData("ES256")]
    public void Build_KeysReplacedUnderSameKids_NewKeysVerifyAndOldOnesFail(string alg)
    {
        // A reload with a rotated JWKS reuses the kids; nothing cached for the old keys may decide for the new ones.
        using var first = new JwtSigner();
        using var next = new JwtSigner();
        RequestAuthenticator before = Authenticator(Rule(r => r with { Jwks = first.Jwks() }));
        Assert.Equal(JwtFailure.None, before.Authenticate(Bearer(first.Token(alg)), out _));
        Assert.NotEqual(JwtFailure.None, before.Authenticate(Bearer(next.Token(alg)), out _));
        RequestAuthenticator after = Authenticator(Rule(r => r with { Jwks = next.Jwks() }));
        Assert.Equal(JwtFailure.None, after.Authenticate(Bearer(next.Token(alg)), out _));
        Assert.NotEqual(JwtFailure.None, after.Authenticate(Bearer(first.Token(alg)), out _));
    }

    [Fact]
    public void Body_EveryFailure_NamesItWithoutTokenBytes()
    {
        foreach (JwtFailure f in Enum.GetValues<JwtFailure>())
        {
            if (f == JwtFailure.None) continue;
            string body = Encoding.ASCII.GetString(JwtFailures.Body(f));
            Assert.StartsWith(f == JwtFailure.AudienceNotAllowed ? "Audiences" : "Jw", body);
        }
        Assert.Equal("Jwt is expired", Encoding.ASCII.GetString(JwtFailures.Body(JwtFailure.Expired)));
    }
}
