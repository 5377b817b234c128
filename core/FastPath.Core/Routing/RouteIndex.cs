// Finds a virtual host's first matching route (config order) without testing every route. Routes with a literal,
// case-sensitive path (prefix, exact, or a regex's literal head) sit in a byte trie keyed by that literal: walking
// the request path down the trie visits exactly the routes whose literal the path starts with (and, at the path's
// end, the exact paths equal to it). Each trie node lists its routes in config order, so the candidates are a few sorted lists — one per node
// passed, plus the routes the trie cannot hold (case-insensitive paths, regexes without a literal head) — merged smallest index first;
// the first candidate whose whole match holds wins, as if every route had been tried in order.
using System.Buffers;

namespace FastPath.Routing;

internal sealed class RouteIndex
{
    private const int StackLists = 64;

    private readonly Route[] _routes;
    // The trie, flattened: node n's children are _labels/_children[_childStart[n] .. + _childCount[n]].
    private readonly byte[] _labels;
    private readonly int[] _children;
    private readonly int[] _childStart;
    private readonly int[] _childCount;
    // Route indexes (ascending) per node: prefix routes ending at the node, exact routes ending at it.
    private readonly int[] _ids;
    private readonly int[] _prefixStart, _prefixCount, _exactStart, _exactCount;
    private readonly int _otherStart, _otherCount;
    // The most candidate lists one walk can gather (nodes holding prefix routes on one branch, + exact + others).
    private readonly int _maxLists;

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

        // Breadth-first numbering keeps each node's children contiguous.
        var order = new List<BuildNode> { root };
        for (int n = 0; n < order.Count; n++)
            foreach (KeyValuePair<byte, BuildNode> child in order[n].Children.OrderBy(c => c.Key)) order.Add(child.Value);
        var index = new Dictionary<BuildNode, int>(ReferenceEqualityComparer.Instance);
        for (int n = 0; n < order.Count; n++) index[order[n]] = n;

        int count = order.Count;
        _labels = new byte[Math.Max(0, count - 1)];
        _children = new int[_labels.Length];
        _childStart = new int[count];
        _childCount = new int[count];
        _prefixStart = new int[count];
        _prefixCount = new int[count];
        _exactStart = new int[count];
        _exactCount = new int[count];
        var ids = new List<int>();
        int edge = 0;
        for (int n = 0; n < count; n++)
        {
            BuildNode b = order[n];
            _childStart[n] = edge;
            _childCount[n] = b.Children.Count;
            foreach (KeyValuePair<byte, BuildNode> child in b.Children.OrderBy(c => c.Key))
            {
                _labels[edge] = child.Key;
                _children[edge++] = index[child.Value];
            }
            _prefixStart[n] = ids.Count;
            _prefixCount[n] = b.Prefix.Count;
            ids.AddRange(b.Prefix);
            _exactStart[n] = ids.Count;
            _exactCount[n] = b.Exact.Count;
            ids.AddRange(b.Exact);
        }
        _otherStart = ids.Count;
        _otherCount = others.Count;
        ids.AddRange(others);
        _ids = ids.ToArray();
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
        if (_prefixCount[0] > 0) Add(next, end, ref lists, _prefixStart[0], _prefixCount[0]);

        ReadOnlySpan<byte> path = input.Path;
        int node = 0;
        int depth = 0;
        for (; depth < path.Length; depth++)
        {
            int at = _labels.AsSpan(_childStart[node], _childCount[node]).IndexOf(path[depth]);
            if (at < 0) break;
            node = _children[_childStart[node] + at];
            if (_prefixCount[node] > 0) Add(next, end, ref lists, _prefixStart[node], _prefixCount[node]);
        }
        if (depth == path.Length && _exactCount[node] > 0) Add(next, end, ref lists, _exactStart[node], _exactCount[node]);

        Route? found = null;
        while (true)
        {
            // The smallest route index at the head of any list is the next candidate in config order.
            int best = -1, bestList = -1;
            for (int l = 0; l < lists; l++)
            {
                if (next[l] == end[l]) continue;
                int id = _ids[next[l]];
                if (best < 0 || id < best)
                {
                    best = id;
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
