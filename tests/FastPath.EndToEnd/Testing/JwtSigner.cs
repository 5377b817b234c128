// Test keys and tokens for RequestAuthentication, made with System.Security.Cryptography (not the library the gateway
// verifies with): RSA 2048 and ECDSA P-256 keys generated per run, their JWKS, and compact JWTs signed RS256, PS256
// or ES256 (raw r||s), plus the forgeries a verifier must refuse (alg none, HS256 keyed with the public key).
// Shared by the unit tests (linked into FastPath.Core.Tests) and the end-to-end tests.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace FastPath.EndToEnd.Testing;

public sealed class JwtSigner : IDisposable
{
    public const string Issuer = "https://issuer.example";
    public const string Audience = "api.example";

    public RSA Rsa { get; } = RSA.Create(2048);
    public ECDsa Ec { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public string RsaKid { get; } = "rsa-1";
    public string EcKid { get; } = "ec-1";

    /// <summary>{"keys": [the RSA key, the EC key]} with public parts only.</summary>
    public string Jwks() => $$"""{"keys":[{{RsaJwk(Rsa, RsaKid)}},{{EcJwk(Ec, EcKid)}}]}""";

    public static string RsaJwk(RSA rsa, string kid)
    {
        RSAParameters p = rsa.ExportParameters(false);
        return $$"""{"kty":"RSA","kid":"{{kid}}","use":"sig","n":"{{B64(p.Modulus!)}}","e":"{{B64(p.Exponent!)}}"}""";
    }

    public static string EcJwk(ECDsa ec, string kid)
    {
        ECParameters p = ec.ExportParameters(false);
        return $$"""{"kty":"EC","kid":"{{kid}}","crv":"P-256","x":"{{B64(p.Q.X!)}}","y":"{{B64(p.Q.Y!)}}"}""";
    }

    /// <summary>Claims for a token from now: iss, sub, aud, exp = now + expiresIn, nbf when given, and any extras.</summary>
    public static Dictionary<string, object> Claims(string issuer = Issuer, string subject = "user-1", object? audience = null,
        TimeSpan? expiresIn = null, TimeSpan? notBeforeIn = null)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new Dictionary<string, object>
        {
            ["iss"] = issuer,
            ["sub"] = subject,
            ["aud"] = audience ?? Audience,
            ["exp"] = now + (long)(expiresIn ?? TimeSpan.FromMinutes(10)).TotalSeconds,
            ["iat"] = now,
        };
        if (notBeforeIn is { } nbf) claims["nbf"] = now + (long)nbf.TotalSeconds;
        return claims;
    }

    /// <summary>A token signed with this signer's RSA key (RS256, PS256) or EC key (ES256), under its kid.</summary>
    public string Token(string alg, Dictionary<string, object>? claims = null) =>
        Sign(alg, alg == "ES256" ? Ec : Rsa, alg == "ES256" ? EcKid : RsaKid, claims ?? Claims());

    public static string Sign(string alg, AsymmetricAlgorithm key, string kid, Dictionary<string, object> claims)
    {
        string signingInput = SigningInput(alg, kid, claims);
        byte[] data = Encoding.ASCII.GetBytes(signingInput);
        byte[] signature = alg switch
        {
            "RS256" => ((RSA)key).SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            "PS256" => ((RSA)key).SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
            "ES256" => ((ECDsa)key).SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
            _ => throw new ArgumentException($"unsupported alg {alg}", nameof(alg)),
        };
        return signingInput + "." + B64(signature);
    }

    /// <summary>The alg-confusion forgery: HS256 keyed with the bytes of the RSA public key the verifier trusts.</summary>
    public string Hs256WithPublicKey(Dictionary<string, object>? claims = null)
    {
        string signingInput = SigningInput("HS256", RsaKid, claims ?? Claims());
        byte[] secret = Encoding.ASCII.GetBytes(RsaJwk(Rsa, RsaKid));
        return signingInput + "." + B64(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(signingInput)));
    }

    /// <summary>An unsigned token (alg none, empty signature).</summary>
    public string Unsigned(Dictionary<string, object>? claims = null) => SigningInput("none", RsaKid, claims ?? Claims()) + ".";

    private static string SigningInput(string alg, string kid, Dictionary<string, object> claims)
    {
        string header = $$"""{"alg":"{{alg}}","typ":"JWT","kid":"{{kid}}"}""";
        return B64(Encoding.UTF8.GetBytes(header)) + "." + B64(JsonSerializer.SerializeToUtf8Bytes(claims));
    }

    public static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public void Dispose()
    {
        Rsa.Dispose();
        Ec.Dispose();
    }
}
