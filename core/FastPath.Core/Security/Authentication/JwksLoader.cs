// Reads a rule's JSON Web Key Set (from its file or inline) into verification keys, once per config load. A document
// that does not parse, or holds no RSA or P-256 key, is a config error naming the file and field.
using FastPath.Config;
using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace FastPath.Security.Authentication;

internal static class JwksLoader
{
    /// <summary>The rule's keys, or null with <paramref name="error"/> saying why (for the field <paramref name="field"/>).</summary>
    public static IList<SecurityKey>? TryLoad(JwtRuleConfig rule, out string field, out string error)
    {
        field = rule.JwksFile is not null ? "jwks_file" : "jwks";
        string text;
        string source;
        if (rule.JwksFile is { } file)
        {
            source = $"JWKS file '{file}'";
            try
            {
                text = File.ReadAllText(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                error = $"cannot read {source}: {e.Message}";
                return null;
            }
        }
        else
        {
            source = "the inline JWKS";
            text = rule.Jwks ?? "";
        }

        JsonWebKeySet set;
        try
        {
            set = new JsonWebKeySet(text);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or System.Text.Json.JsonException or InvalidOperationException)
        {
            error = $"{source} is not a JSON Web Key Set ({{\"keys\": [...]}}): {FirstLine(e.Message)}";
            return null;
        }
        // Each key becomes an RSA or ECDsa object here, once: its material is checked at load (a point off the curve
        // is a config error, not a 401 later), and verification reuses it instead of importing the JWK per token.
        var keys = new List<SecurityKey>();
        foreach (JsonWebKey key in set.Keys)
        {
            if (key.Use is not (null or "sig")) continue;
            try
            {
                if (key.Kty == JsonWebAlgorithmsKeyTypes.RSA && !string.IsNullOrEmpty(key.N) && !string.IsNullOrEmpty(key.E))
                {
                    RSA rsa = RSA.Create(new RSAParameters { Modulus = Base64UrlEncoder.DecodeBytes(key.N), Exponent = Base64UrlEncoder.DecodeBytes(key.E) });
                    keys.Add(new RsaSecurityKey(rsa) { KeyId = key.Kid });
                }
                else if (key.Kty == JsonWebAlgorithmsKeyTypes.EllipticCurve && key.Crv == JsonWebKeyECTypes.P256
                         && !string.IsNullOrEmpty(key.X) && !string.IsNullOrEmpty(key.Y))
                {
                    ECDsa ec = ECDsa.Create(new ECParameters
                    {
                        Curve = ECCurve.NamedCurves.nistP256,
                        Q = new ECPoint { X = Base64UrlEncoder.DecodeBytes(key.X), Y = Base64UrlEncoder.DecodeBytes(key.Y) },
                    });
                    keys.Add(new ECDsaSecurityKey(ec) { KeyId = key.Kid });
                }
            }
            catch (Exception e) when (e is CryptographicException or FormatException or ArgumentException)
            {
                error = $"{source}: key '{key.Kid}' is not a valid {key.Kty} key: {FirstLine(e.Message)}";
                return null;
            }
        }
        if (keys.Count == 0)
        {
            error = $"{source} has no usable signing key (RSA, or EC on P-256, with use \"sig\" or none)";
            return null;
        }
        error = "";
        return keys;
    }

    private static string FirstLine(string message)
    {
        int nl = message.IndexOf('\n');
        return nl < 0 ? message : message[..nl].TrimEnd();
    }
}
