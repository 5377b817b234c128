// One compiled rule: the when conditions all hold, one from entry holds (each an AND of its fields) and one to
// entry holds; an empty from or to list holds for everything. Istio merges each when condition into every from/to
// entry; holding them apart is the same boolean and checks each once.
namespace FastPath.Security.Authorization;

internal sealed class AuthorizationRule(AuthorizationCondition[][] from, AuthorizationCondition[][] to, AuthorizationCondition[] when)
{
    public AuthorizationCondition[][] From { get; } = from;
    public AuthorizationCondition[][] To { get; } = to;
    public AuthorizationCondition[] When { get; } = when;

    public bool HasHttpOnlyField
    {
        get
        {
            foreach (AuthorizationCondition c in When) if (c.IsHttpOnly) return true;
            foreach (AuthorizationCondition[] entry in From) foreach (AuthorizationCondition c in entry) if (c.IsHttpOnly) return true;
            foreach (AuthorizationCondition[] entry in To) foreach (AuthorizationCondition c in entry) if (c.IsHttpOnly) return true;
            return false;
        }
    }

    // Operations first: ports and methods reject most rules with an integer or a few bytes; headers and claims last.
    public bool Matches(ref AuthorizationContext ctx) => AnyEntry(To, ref ctx) && AnyEntry(From, ref ctx) && All(When, ref ctx);

    /// <summary>
    /// The rule as Istio applies it to TCP (pilot authz model, checkError): an ALLOW rule with any HTTP-only field
    /// never matches (null here); for DENY and AUDIT each HTTP-only field is dropped and the rest still applies, so a
    /// DENY rule of only HTTP-only fields denies every connection.
    /// </summary>
    public AuthorizationRule? ForTcp(AuthorizationAction action)
    {
        if (!HasHttpOnlyField) return this;
        if (action == AuthorizationAction.Allow) return null;
        return new AuthorizationRule(Array.ConvertAll(From, TcpOnly), Array.ConvertAll(To, TcpOnly), TcpOnly(When));
    }

    private static AuthorizationCondition[] TcpOnly(AuthorizationCondition[] conditions) =>
        Array.FindAll(conditions, c => !c.IsHttpOnly);

    private static bool All(AuthorizationCondition[] conditions, ref AuthorizationContext ctx)
    {
        foreach (AuthorizationCondition c in conditions) if (!c.Matches(ref ctx)) return false;
        return true;
    }

    private static bool AnyEntry(AuthorizationCondition[][] entries, ref AuthorizationContext ctx)
    {
        if (entries.Length == 0) return true;
        foreach (AuthorizationCondition[] entry in entries) if (All(entry, ref ctx)) return true;
        return false;
    }
}
