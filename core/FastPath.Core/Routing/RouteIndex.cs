// Finds a virtual host's first matching route (config order) without testing every route. Routes with a literal,
// case-sensitive path (prefix, exact, or a regex's literal head) sit in a radix tree keyed by that literal: walking
// the request path down the tree visits exactly the routes whose literal the path starts with (and, at the path's
// end, the exact paths equal to it). Each node lists its routes in config order, so the candidates are a few sorted
// lists — one per node passed, plus the routes the tree cannot hold (case-insensitive paths, regexes without a
// literal head) — merged smallest index first; the first candidate whose whole match holds wins, as if every route
// had been tried in order.
using System.Buffers;
using System.Runtime.InteropServices;

namespace FastPath.Routing;

internal sealed class RouteIndex
{
    private const int StackLists = 64;

    private readonly Route[] _routes;
    // The tree, flattened: a node's children are the nodes ChildStart .. ChildStart + ChildCount - 1, each entered by
    // its edge label (one or more bytes in _edges); _firstBytes[n] is node n's label's first byte, so choosing a
    // child is one vectorised IndexOf over the siblings' first bytes.
    private readonly Node[] _nodes;
    private readonly byte[] _edges;
    private readonly byte[] _firstBytes;
    // Route indexes (ascending) per node: PrefixStart/Count and ExactStart/Count slice this.
    private readonly int[] _ids;
    private readonly int _otherStart, _otherCount;
    // The most candidate lists one walk can gather (nodes holding prefix routes on one branch, + exact + others).
    private readonly int _maxLists;

    [StructLayout(LayoutKind.Auto)]
    private struct Node
    {
        public int LabelStart, LabelLength;
        public int ChildStart, ChildCount;
        public int PrefixStart, PrefixCount;
        public int ExactStart, ExactCount;
    }

    public RouteIndex(Route[] routes)
    {
        _routes = routes;
        var root = new BuildNode();
        var others = new List<int>();
        for (int i = 0; i < routes.Length; i++)
        {
            RouteMatch m = routes[i].Match;
            if (m.IndexKey is null)
            {
                others.Add(i);
                continue;
            }
            BuildNode node = root;
            foreach (byte b in m.IndexKey)
            {
                if (!node.Children.TryGetValue(b, out BuildNode? next)) node.Children[b] = next = new BuildNode();
                node = next;
            }
            (m.PathKind == PathMatchKind.Exact ? node.Exact : node.Prefix).Add(i);
        }

        // Breadth-first, so each node's children are numbered contiguously; chains of nodes with one child and no
        // routes collapse into one edge (radix compression), so a long literal costs one comparison, not a step per byte.
        var nodes = new List<Node> { default };
        var firstBytes = new List<byte> { 0 };
        var edges = new List<byte>();
        var ids = new List<int>();
        var queue = new Queue<(BuildNode Build, int Id)>();
        queue.Enqueue((root, 0));
        while (queue.Count > 0)
        {
            (BuildNode b, int id) = queue.Dequeue();
            Node n = nodes[id];
            n.ChildStart = nodes.Count;
            n.ChildCount = b.Children.Count;
            foreach (KeyValuePair<byte, BuildNode> child in b.Children.OrderBy(c => c.Key))
            {
                var label = new List<byte> { child.Key };
                BuildNode target = child.Value;
                while (target.Children.Count == 1 && target.Prefix.Count == 0 && target.Exact.Count == 0)
                {
                    KeyValuePair<byte, BuildNode> only = target.Children.First();
                    label.Add(only.Key);
                    target = only.Value;
                }
                queue.Enqueue((target, nodes.Count));
                nodes.Add(new Node { LabelStart = edges.Count, LabelLength = label.Count });
                firstBytes.Add(child.Key);
                edges.AddRange(label);
            }
            n.PrefixStart = ids.Count;
            n.PrefixCount = b.Prefix.Count;
            ids.AddRange(b.Prefix);
            n.ExactStart = ids.Count;
            n.ExactCount = b.Exact.Count;
            ids.AddRange(b.Exact);
            nodes[id] = n;
        }
        _otherStart = ids.Count;
        _otherCount = others.Count;
        ids.AddRange(others);
        _nodes = [.. nodes];
        _firstBytes = [.. firstBytes];
        _edges = [.. edges];
        _ids = [.. ids];
        _maxLists = MaxPrefixNodes(root) + 2;
    }

    public Route[] Routes => _routes;

    public Route? Match(in RouteInput input)
    {
        int[]? rented = null;
        Span<int> cursors = _maxLists <= StackLists ? stackalloc int[2 * StackLists] : (rented = ArrayPool<int>.Shared.Rent(2 * _maxLists));
        Span<int> next = cursors[.._maxLists];
        Span<int> end = cursors.Slice(_maxLists, _maxLists);
        int lists = 0;
        if (_otherCount > 0) Add(next, end, ref lists, _otherStart, _otherCount);

        Node[] nodes = _nodes;
        ReadOnlySpan<byte> path = input.Path;
        int id = 0;
        int depth = 0;
        while (true)
        {
            ref Node n = ref nodes[id];
            if (n.PrefixCount > 0) Add(next, end, ref lists, n.PrefixStart, n.PrefixCount);
            if (depth == path.Length)
            {
                if (n.ExactCount > 0) Add(next, end, ref lists, n.ExactStart, n.ExactCount);
                break;
            }
            int at = _firstBytes.AsSpan(n.ChildStart, n.ChildCount).IndexOf(path[depth]);
            if (at < 0) break;
            int child = n.ChildStart + at;
            ref Node c = ref nodes[child];
            // Diverging inside an edge: no route ends inside one, so nothing deeper can match.
            if (!path[depth..].StartsWith(_edges.AsSpan(c.LabelStart, c.LabelLength))) break;
            depth += c.LabelLength;
            id = child;
        }

        Route? found = null;
        while (true)
        {
            // The smallest route index at the head of any list is the next candidate in config order.
            int best = -1, bestList = -1;
            for (int l = 0; l < lists; l++)
            {
                if (next[l] == end[l]) continue;
                int routeId = _ids[next[l]];
                if (best < 0 || routeId < best)
                {
                    best = routeId;
                    bestList = l;
                }
            }
            if (best < 0) break;
            next[bestList]++;
            Route candidate = _routes[best];
            if (candidate.Match.Matches(in input))
            {
                found = candidate;
                break;
            }
        }
        if (rented is not null) ArrayPool<int>.Shared.Return(rented);
        return found;
    }

    private static void Add(Span<int> next, Span<int> end, ref int lists, int start, int count)
    {
        next[lists] = start;
        end[lists++] = start + count;
    }

    private static int MaxPrefixNodes(BuildNode node)
    {
        int below = 0;
        foreach (BuildNode child in node.Children.Values) below = Math.Max(below, MaxPrefixNodes(child));
        return below + (node.Prefix.Count > 0 ? 1 : 0);
    }

    private sealed class BuildNode
    {
        public readonly Dictionary<byte, BuildNode> Children = [];
        public readonly List<int> Prefix = [];
        public readonly List<int> Exact = [];
    }
}
