// Reads a rule's JSON Web Key Set (from its file or inline) into verification keys, once per config load. A document
// that does not parse, or holds no RSA or P-256 key, is a config error naming the file and field.
using FastPath.Config;
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
        var keys = new List<SecurityKey>();
        foreach (JsonWebKey key in set.Keys)
        {
            bool usable = key.Kty == JsonWebAlgorithmsKeyTypes.RSA ? !string.IsNullOrEmpty(key.N) && !string.IsNullOrEmpty(key.E)
                : key.Kty == JsonWebAlgorithmsKeyTypes.EllipticCurve && key.Crv == JsonWebKeyECTypes.P256 && !string.IsNullOrEmpty(key.X) && !string.IsNullOrEmpty(key.Y);
            if (usable && key.Use is null or "sig") keys.Add(key);
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
