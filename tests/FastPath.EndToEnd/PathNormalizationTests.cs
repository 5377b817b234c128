// Path normalisation through the real gateway: requests written byte for byte on a raw socket (clients such as curl
// would normalise them first), a route for exactly /admin, and a real origin that records the raw target it got.
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class PathNormalizationTests
{
    private static async Task<(GatewayProcess Gateway, OriginServer Admin, OriginServer Other)> StartAsync(string? mode)
    {
        OriginServer admin = await OriginServer.StartAsync("admin");
        OriginServer other = await OriginServer.StartAsync("other");
        var yaml = new GatewayYaml()
            .RawRoute("match: {path: /admin}\ncluster: admin")
            .Route("/", "other")
            .Cluster("admin", admin.Address)
            .Cluster("other", other.Address);
        if (mode is not null) yaml.RootYaml.Add($"path_normalization: {mode}");
        return (await GatewayProcess.StartAsync(yaml), admin, other);
    }

    /// <summary>Sends <paramref name="target"/> as is and returns the status and the target the origin received.</summary>
    private static async Task<(int Status, string? OriginId, string? Target)> SendAsync(GatewayProcess gateway, OriginServer admin,
        OriginServer other, string target)
    {
        int before = admin.RequestCount + other.RequestCount;
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
        RawResponse response = await client.RoundTripAsync(RawHttpConnection.Get(target));
        if (admin.RequestCount + other.RequestCount == before) return (response.Status, null, null);
        OriginServer origin = response.Header("x-origin-id") == "admin" ? admin : other;
        return (response.Status, response.Header("x-origin-id"), origin.LastRequest!.RawTarget);
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
        (GatewayProcess gateway, OriginServer admin, OriginServer other) = await StartAsync(mode);
        await using (gateway)
        await using (admin)
        await using (other)
        {
            (int status, string? originId, string? received) = await SendAsync(gateway, admin, other, target);
            Assert.Equal(200, status);
            Assert.Equal(expected, received);
            // The exact-path route for /admin matched every spelling of /admin (and only those).
            Assert.Equal(expected.Split('?')[0] == "/admin" ? "admin" : "other", originId);
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData("NONE", "/a/../admin")]
    [InlineData("BASE", "//admin")]
    [InlineData("MERGE_SLASHES", "/x%2F..%2Fadmin")]
    public async Task Request_ModeLeavesPathAlone_OriginGetsItAsSent(string mode, string target)
    {
        (GatewayProcess gateway, OriginServer admin, OriginServer other) = await StartAsync(mode);
        await using (gateway)
        await using (admin)
        await using (other)
        {
            (int status, string? originId, string? received) = await SendAsync(gateway, admin, other, target);
            Assert.Equal(200, status);
            Assert.Equal("other", originId);
            Assert.Equal(mode == "MERGE_SLASHES" ? "/x%2F..%2Fadmin" : target, received);
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData("/admin%00")]
    [InlineData("/a%zz")]
    [InlineData("/a%2")]
    public async Task Request_PathThatCannotBeNormalised_400AndClosed(string target)
    {
        (GatewayProcess gateway, OriginServer admin, OriginServer other) = await StartAsync("DECODE_AND_MERGE_SLASHES");
        await using (gateway)
        await using (admin)
        await using (other)
        {
            await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
            RawResponse response = await client.RoundTripAsync(RawHttpConnection.Get(target));
            Assert.Equal(400, response.Status);
            Assert.True(response.ConnectionClose);
            Assert.Equal(0, admin.RequestCount + other.RequestCount);
        }
    }
}
