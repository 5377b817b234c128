// The JWT stage: a request without a token under JWT rules (the look-up in the configured header and query locations)
// must cost no allocation (category ZeroAlloc); verifying a token allocates (base64, JSON, the library's result) and
// is measured in JwtVerificationBenchmarks, outside the gate.
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastPath.Config;
using FastPath.Http;
using FastPath.Http1;
using FastPath.Security;
using FastPath.Security.Authentication;

namespace FastPath.Benchmarks.Security;

[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
public class RequestAuthenticationBenchmarks
{
    private readonly HttpRequestHead _request = new();
    private RequestAuthenticator _authenticator = null!;

    [GlobalSetup]
    public void Setup()
    {
        _authenticator = JwtBench.Authenticator(out _);
        JwtBench.Parse(_request, "GET /api/items?page=2&sort=price HTTP/1.1\r\nHost: a.example\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n");
    }

    [Benchmark]
    public int RequestWithoutToken() => (int)_authenticator.Authenticate(_request, out _);
}

[MemoryDiagnoser]
public class JwtVerificationBenchmarks
{
    private readonly HttpRequestHead _rs256 = new();
    private readonly HttpRequestHead _es256 = new();
    private RequestAuthenticator _authenticator = null!;

    [GlobalSetup]
    public void Setup()
    {
        _authenticator = JwtBench.Authenticator(out (RSA Rsa, ECDsa Ec) keys);
        JwtBench.Parse(_rs256, $"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {JwtBench.Token("RS256", keys.Rsa)}\r\n\r\n");
        JwtBench.Parse(_es256, $"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {JwtBench.Token("ES256", keys.Ec)}\r\n\r\n");
        foreach (HttpRequestHead request in new[] { _rs256, _es256 })
        {
            JwtFailure failure = _authenticator.Authenticate(request, out RequestIdentity? identity);
            if (failure != JwtFailure.None || identity is null) throw new InvalidOperationException($"benchmark token refused: {failure}");
        }
    }

    [Benchmark]
    public object? VerifyRs256()
    {
        _authenticator.Authenticate(_rs256, out RequestIdentity? identity);
        return identity;
    }

    [Benchmark]
    public object? VerifyEs256()
    {
        _authenticator.Authenticate(_es256, out RequestIdentity? identity);
        return identity;
    }
}

internal static class JwtBench
{
    public static RequestAuthenticator Authenticator(out (RSA Rsa, ECDsa Ec) keys)
    {
        keys = (RSA.Create(2048), ECDsa.Create(ECCurve.NamedCurves.nistP256));
        RSAParameters r = keys.Rsa.ExportParameters(false);
        ECParameters e = keys.Ec.ExportParameters(false);
        string jwks = $$"""{"keys":[{"kty":"RSA","kid":"r","n":"{{B64(r.Modulus!)}}","e":"{{B64(r.Exponent!)}}"},{"kty":"EC","kid":"e","crv":"P-256","x":"{{B64(e.Q.X!)}}","y":"{{B64(e.Q.Y!)}}"}]}""";
        var config = new RequestAuthenticationConfig
        {
            JwtRules = [new JwtRuleConfig { Issuer = "https://issuer.example", Audiences = ["api"], Jwks = jwks, FromHeaders = [JwtHeaderConfig.AuthorizationBearer], FromParams = ["access_token"],
                // Kept, so that every iteration finds the token again (removing it would leave nothing to verify).
                ForwardOriginalToken = true }],
        };
        return RequestAuthenticator.Build(config, "bench")!;
    }

    public static string Token(string alg, AsymmetricAlgorithm key)
    {
        long exp = DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds();
        string input = B64(Encoding.ASCII.GetBytes($$"""{"alg":"{{alg}}","kid":"{{(alg == "ES256" ? "e" : "r")}}"}""")) + "." +
                       B64(Encoding.ASCII.GetBytes($$"""{"iss":"https://issuer.example","sub":"u","aud":"api","exp":{{exp}}}"""));
        byte[] data = Encoding.ASCII.GetBytes(input);
        byte[] sig = key is RSA rsa ? rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : ((ECDsa)key).SignData(data, HashAlgorithmName.SHA256);
        return input + "." + B64(sig);
    }

    public static void Parse(HttpRequestHead head, string text)
    {
        head.Reset();
        var reader = new System.Buffers.SequenceReader<byte>(new System.Buffers.ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text)));
        var handler = new Http1RequestHandler(head);
        var state = new Http1HeadParseState();
        if (Http1Parser.ParseHead(ref reader, ref handler, ref state, Http1Limits.Default, out RequestRejectionReason reason) != Http1ParseResult.Complete
            || handler.Complete() != RequestRejectionReason.None)
            throw new InvalidOperationException($"benchmark request did not parse: {reason}");
    }

    private static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
