// The request principal a verified JWT established (Istio RequestAuthentication): "<iss>/<sub>", the audiences, the
// authorized presenter and the claims, which AuthorizationPolicy reads as request.auth.claims[name][nested...].
// Set on the exchange by the JWT stage; null when the request carried no (accepted) token.
using System.Text.Json;

namespace FastPath.Security;

internal sealed class RequestIdentity
{
    private readonly JsonElement _claims;

    /// <param name="claims">The token's payload (a JSON object), cloned or owned by this identity.</param>
    public RequestIdentity(string issuer, string subject, IReadOnlyList<string> audiences, string? presenter, JsonElement claims)
    {
        Issuer = issuer;
        Subject = subject;
        Principal = issuer + "/" + subject;
        Audiences = audiences;
        Presenter = presenter;
        _claims = claims;
    }

    public string Issuer { get; }
    public string Subject { get; }
    /// <summary>Istio's request principal: iss + "/" + sub.</summary>
    public string Principal { get; }
    public IReadOnlyList<string> Audiences { get; }
    /// <summary>The azp claim, when present.</summary>
    public string? Presenter { get; }

    /// <summary>
    /// A claim by path (["groups"], or ["nested1", "nested2"] for request.auth.claims[nested1][nested2]): a string
    /// is one value, an array of strings its items, a number or boolean its JSON text. False when absent or an object.
    /// </summary>
    public bool TryGetClaim(IReadOnlyList<string> path, List<string> values)
    {
        values.Clear();
        if (_claims.ValueKind != JsonValueKind.Object || path.Count == 0) return false;
        JsonElement current = _claims;
        foreach (string name in path)
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current)) return false;
        }
        switch (current.ValueKind)
        {
            case JsonValueKind.String:
                values.Add(current.GetString()!);
                return true;
            case JsonValueKind.Array:
                foreach (JsonElement item in current.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String) values.Add(item.GetString()!);
                    else if (item.ValueKind is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False) values.Add(item.GetRawText());
                }
                return true;
            case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                values.Add(current.GetRawText());
                return true;
            default:
                return false;
        }
    }
}
