// Dependencies point one way, down the request path (STYLE.md): this test reads every type's signatures and IL in
// FastPath.Core and fails when a namespace reaches one it must not know, so a wrong arrow fails CI.
using System.Reflection;
using System.Reflection.Emit;
using Xunit;

namespace FastPath.Core.Tests.Architecture;

public sealed class DependencyRulesTests
{
    public static TheoryData<string, string[]> Rules => new()
    {
        // Protocol-neutral model: knows nothing above it.
        { "FastPath.Http", ["FastPath.Http1", "FastPath.Http2", "FastPath.Routing", "FastPath.Upstream", "FastPath.Filters", "FastPath.Config", "FastPath.LoadBalancing", "FastPath.Transport", "FastPath.Observability", "FastPath.Security"] },
        // Codecs know Http and Transport, never routing, upstream, filters, config or security (authentication and
        // authorization are stages of the request path above the codec).
        { "FastPath.Http1", ["FastPath.Http2", "FastPath.Routing", "FastPath.Upstream", "FastPath.Filters", "FastPath.Config", "FastPath.LoadBalancing", "FastPath.Observability", "FastPath.Security"] },
        // The HTTP/2 codec, like HTTP/1, knows only Http and Transport.
        { "FastPath.Http2", ["FastPath.Http1", "FastPath.Routing", "FastPath.Upstream", "FastPath.Filters", "FastPath.Config", "FastPath.LoadBalancing", "FastPath.Observability", "FastPath.Security"] },
        // Transport moves bytes; it does not know HTTP.
        { "FastPath.Transport", ["FastPath.Http", "FastPath.Http1", "FastPath.Http2", "FastPath.Routing", "FastPath.Upstream", "FastPath.Filters", "FastPath.Config", "FastPath.LoadBalancing"] },
        // Balancers pick endpoints; they know nothing of requests' wire format or of routes.
        { "FastPath.LoadBalancing", ["FastPath.Http1", "FastPath.Filters", "FastPath.Routing", "FastPath.Config"] },
        // Upstream (clusters, pools) sits below routing and the filters.
        { "FastPath.Upstream", ["FastPath.Http1", "FastPath.Filters", "FastPath.Routing"] },
        // Routing matches requests to clusters; it does not forward.
        { "FastPath.Routing", ["FastPath.Http1", "FastPath.Filters", "FastPath.Transport"] },
        // Authorization decides on a request's attributes; it knows no codec, filter, route or upstream.
        { "FastPath.Security.Authorization", ["FastPath.Http1", "FastPath.Http2", "FastPath.Filters", "FastPath.Routing", "FastPath.Upstream", "FastPath.LoadBalancing", "FastPath.Transport"] },
        // Nothing in core reaches a host.
        { "FastPath", ["FastPath.Gateway"] },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void Namespace_DoesNotDependOn_Forbidden(string ns, string[] forbidden)
    {
        Assembly core = typeof(FastPathProxy).Assembly;
        var violations = new SortedSet<string>();
        Type[] types = core.GetTypes().Where(t => InNamespace(t.Namespace, ns, exact: ns == "FastPath")).ToArray();
        Assert.NotEmpty(types);
        foreach (Type type in types)
        {
            foreach ((Type used, string where) in References(type))
            {
                string? usedNs = used.Namespace;
                if (used.Assembly != core || usedNs is null) continue;
                foreach (string f in forbidden)
                    if (InNamespace(usedNs, f, exact: false)) violations.Add($"{type.FullName} -> {used.FullName} ({where})");
            }
        }
        Assert.True(violations.Count == 0, $"{ns} must not depend on {string.Join(", ", forbidden)}:\n{string.Join("\n", violations)}");
    }

    [Fact]
    public void IlScanner_FindsAKnownReference()
    {
        // Guards the scanner itself: HttpConnectionManager's method bodies use RouteTable.
        IEnumerable<Type> used = References(typeof(FastPathProxy).Assembly.GetType("FastPath.Filters.Network.HttpConnectionManager")!)
            .Select(r => r.Type);
        Assert.Contains(used, t => t.FullName == "FastPath.Routing.RouteTable");
    }

    private static bool InNamespace(string? actual, string ns, bool exact) =>
        actual is not null && (actual == ns || (!exact && actual.StartsWith(ns + ".", StringComparison.Ordinal)));

    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static IEnumerable<(Type Type, string Where)> References(Type type)
    {
        if (type.BaseType is not null) yield return (type.BaseType, "base");
        foreach (Type i in type.GetInterfaces()) yield return (i, "interface");
        foreach (FieldInfo f in type.GetFields(All)) foreach (Type t in Expand(f.FieldType)) yield return (t, $"field {f.Name}");
        foreach (MethodBase m in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            if (m is MethodInfo mi) foreach (Type t in Expand(mi.ReturnType)) yield return (t, $"{m.Name} return");
            foreach (ParameterInfo p in m.GetParameters()) foreach (Type t in Expand(p.ParameterType)) yield return (t, $"{m.Name} parameter");
            foreach (Type t in BodyReferences(m)) yield return (t, $"{m.Name} body");
        }
        foreach (Type nested in type.GetNestedTypes(All)) foreach ((Type t, string w) in References(nested)) yield return (t, $"{nested.Name}.{w}");
    }

    private static IEnumerable<Type> Expand(Type t)
    {
        if (t.HasElementType) { foreach (Type e in Expand(t.GetElementType()!)) yield return e; yield break; }
        if (t.IsGenericType && !t.IsGenericTypeDefinition)
        {
            yield return t.GetGenericTypeDefinition();
            foreach (Type a in t.GetGenericArguments()) foreach (Type e in Expand(a)) yield return e;
            yield break;
        }
        if (!t.IsGenericParameter) yield return t;
    }

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>Types named by tokens in a method body (calls, field access, newobj, casts, ldtoken).</summary>
    private static IEnumerable<Type> BodyReferences(MethodBase method)
    {
        byte[]? il;
        try { il = method.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException) { il = null; }
        if (il is null) yield break;
        Module module = method.Module;
        Type[]? typeArgs = method.DeclaringType is { IsGenericType: true } dt ? dt.GetGenericArguments() : null;
        Type[]? methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        int pos = 0;
        while (pos < il.Length)
        {
            short value = il[pos++];
            if (value == 0xFE) value = (short)(0xFE00 | il[pos++]);
            if (!OpCodesByValue.TryGetValue(value, out OpCode op)) yield break;
            switch (op.OperandType)
            {
                case OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok:
                {
                    int token = BitConverter.ToInt32(il, pos);
                    pos += 4;
                    MemberInfo? member = null;
                    try { member = module.ResolveMember(token, typeArgs, methodArgs); }
                    catch (ArgumentException) { }
                    if (member is Type t) { foreach (Type e in Expand(t)) yield return e; }
                    else if (member?.DeclaringType is { } d) { foreach (Type e in Expand(d)) yield return e; }
                    if (member is FieldInfo fi) foreach (Type e in Expand(fi.FieldType)) yield return e;
                    break;
                }
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar: pos += 1; break;
                case OperandType.InlineVar: pos += 2; break;
                case OperandType.InlineI8 or OperandType.InlineR: pos += 8; break;
                case OperandType.InlineSwitch: pos += 4 + BitConverter.ToInt32(il, pos) * 4; break;
                default: pos += 4; break;
            }
        }
    }
}
