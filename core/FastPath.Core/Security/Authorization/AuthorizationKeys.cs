// Istio's condition keys for `when` (istio.io "Authorization Policy Conditions"): the attribute, and the header
// name or claim path in brackets. Shared by validation (errors name the key) and compilation.
namespace FastPath.Security.Authorization;

internal static class AuthorizationKeys
{
    public const string Supported = "request.headers[NAME], source.ip, remote.ip, source.namespace, source.principal, "
        + "request.auth.principal, request.auth.audiences, request.auth.presenter, request.auth.claims[NAME][...], "
        + "destination.ip, destination.port, connection.sni";

    /// <summary>False with a message for an unknown or malformed key.</summary>
    public static bool TryParse(string key, out AuthorizationAttribute attribute, out string header, out string[] claimPath, out string error)
    {
        header = "";
        claimPath = [];
        error = "";
        attribute = default;
        switch (key)
        {
            case "source.ip": attribute = AuthorizationAttribute.SourceIp; return true;
            case "remote.ip": attribute = AuthorizationAttribute.RemoteIp; return true;
            case "source.namespace": attribute = AuthorizationAttribute.SourceNamespace; return true;
            case "source.principal": attribute = AuthorizationAttribute.SourcePrincipal; return true;
            case "request.auth.principal": attribute = AuthorizationAttribute.RequestPrincipal; return true;
            case "request.auth.audiences": attribute = AuthorizationAttribute.RequestAudiences; return true;
            case "request.auth.presenter": attribute = AuthorizationAttribute.RequestPresenter; return true;
            case "destination.ip": attribute = AuthorizationAttribute.DestinationIp; return true;
            case "destination.port": attribute = AuthorizationAttribute.DestinationPort; return true;
            case "connection.sni": attribute = AuthorizationAttribute.ConnectionSni; return true;
        }
        if (key.StartsWith("request.headers", StringComparison.Ordinal))
        {
            attribute = AuthorizationAttribute.RequestHeader;
            string[]? names = Brackets(key["request.headers".Length..]);
            if (names is not { Length: 1 } || !Config.GatewayConfigValidator.IsToken(names[0]))
            {
                error = $"'{key}': expected request.headers[NAME] with one header name";
                return false;
            }
            header = names[0].ToLowerInvariant();
            return true;
        }
        if (key.StartsWith("request.auth.claims", StringComparison.Ordinal))
        {
            attribute = AuthorizationAttribute.RequestClaim;
            string[]? names = Brackets(key["request.auth.claims".Length..]);
            if (names is null || names.Length == 0 || Array.Exists(names, n => n.Length == 0))
            {
                error = $"'{key}': expected request.auth.claims[NAME] or nested request.auth.claims[NAME][NAME]...";
                return false;
            }
            claimPath = names;
            return true;
        }
        error = key.StartsWith("experimental.envoy.filters.", StringComparison.Ordinal)
            ? $"'{key}': experimental Envoy metadata keys are not supported"
            : $"unknown key '{key}' (supported: {Supported})";
        return false;
    }

    /// <summary>"[a][b]" as ["a", "b"]; null unless the text is made only of bracketed names.</summary>
    private static string[]? Brackets(string text)
    {
        var names = new List<string>();
        int at = 0;
        while (at < text.Length)
        {
            if (text[at] != '[') return null;
            int close = text.IndexOf(']', at);
            if (close < 0) return null;
            string name = text[(at + 1)..close];
            if (name.Contains('[')) return null;
            names.Add(name);
            at = close + 1;
        }
        return names.ToArray();
    }
}
