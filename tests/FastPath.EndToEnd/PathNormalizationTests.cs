// Path normalisation through the real gateway: requests written byte for byte on a raw socket (clients such as curl
// would normalise them first), a route for exactly /admin, and a real origin that records the raw target it got.
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class PathNormalizationTests
{
    /// <summary>A gateway whose route for exactly /admin goes to origin "admin", everything else to origin "other".</summary>
    private sealed class Rig : IAsyncDisposable
    {
        public required GatewayProcess Gateway { get; init; }
        public required OriginServer Admin { get; init; }
        public required OriginServer Other { get; init; }

        public static async Task<Rig> StartAsync(string? mode)
        {
            OriginServer admin = await OriginServer.StartAsync("admin");
            OriginServer other = await OriginServer.StartAsync("other");
            var yaml = new GatewayYaml()
                .RawRoute("match: {path: /admin}\ncluster: admin")
                .Route("/", "other")
                .Cluster("admin", admin.Address)
                .Cluster("other", other.Address);
            if (mode is not null) yaml.RootYaml.Add($"path_normalization: {mode}");
            return new Rig { Gateway = await GatewayProcess.StartAsync(yaml), Admin = admin, Other = other };
        }

        public int OriginRequests => Admin.RequestCount + Other.RequestCount;

        /// <summary>Sends <paramref name="target"/> as is: the response, and the origin and raw target that got it.</summary>
        public async Task<(RawResponse Response, string? OriginId, string? Target)> SendAsync(string target)
        {
            int before = OriginRequests;
            await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(Gateway.Port);
            RawResponse response = await client.RoundTripAsync(RawHttpConnection.Get(target));
            if (OriginRequests == before) return (response, null, null);
            OriginServer origin = response.Header("x-origin-id") == "admin" ? Admin : Other;
            return (response, origin.Id, origin.LastRequest!.RawTarget);
        }

        public async ValueTask DisposeAsync()
        {
            await Gateway.DisposeAsync();
            await Admin.DisposeAsync();
            await Other.DisposeAsync();
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(null, "/a/../admin", "/admin")]                 // BASE is the default
    [InlineData("BASE", "/%2e%2e/admin", "/admin")]
    [InlineData("BASE", "/x/.%2E/admin?q=/../%2e", "/admin?q=/../%2e")]
    [InlineData("BASE", "/x\\..\\admin", "/admin")]
    [InlineData("BASE", "/admin/.", "/admin/")]                 // a trailing slash is another path: not /admin
    [InlineData("MERGE_SLASHES", "//admin", "/admin")]
    [InlineData("MERGE_SLASHES", "/x//..//admin", "/admin")]
    [InlineData("DECODE_AND_MERGE_SLASHES", "/x%2F..%2Fadmin", "/admin")]
    [InlineData("DECODE_AND_MERGE_SLASHES", "/%2fadmin", "/admin")]
    public async Task Request_NonNormalPath_RoutedAndForwardedNormalised(string? mode, string target, string expected)
    {
        await using Rig rig = await Rig.StartAsync(mode);
        (RawResponse response, string? originId, string? received) = await rig.SendAsync(target);
        Assert.Equal(200, response.Status);
        Assert.Equal(expected, received);
        // The exact-path route for /admin matched every spelling of /admin (and only those).
        Assert.Equal(expected.Split('?')[0] == "/admin" ? "admin" : "other", originId);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("NONE", "/a/../admin", "/a/../admin")]
    [InlineData("BASE", "//admin", "//admin")]
    [InlineData("MERGE_SLASHES", "/x%2f..%2fadmin", "/x%2F..%2Fadmin")]   // escapes only upper-cased
    public async Task Request_ModeLeavesPathAlone_OriginGetsItAsSent(string mode, string target, string expected)
    {
        await using Rig rig = await Rig.StartAsync(mode);
        (RawResponse response, string? originId, string? received) = await rig.SendAsync(target);
        Assert.Equal(200, response.Status);
        Assert.Equal("other", originId);
        Assert.Equal(expected, received);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("/admin%00")]
    [InlineData("/a%zz")]
    [InlineData("/a%2")]
    public async Task Request_PathThatCannotBeNormalised_400AndClosed(string target)
    {
        await using Rig rig = await Rig.StartAsync("DECODE_AND_MERGE_SLASHES");
        (RawResponse response, string? originId, _) = await rig.SendAsync(target);
        Assert.Equal(400, response.Status);
        Assert.True(response.ConnectionClose);
        Assert.Null(originId);
        Assert.Equal(0, rig.OriginRequests);
    }
}
