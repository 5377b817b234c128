// The h2 scenario's nginx origin, run for real: it answers as the Kestrel origin does, so the runner's checks and the
// proxies' work per request are the same whichever origin a run uses.
using System.Net;
using System.Net.Http;
using FastPath.Scenarios.Origin;
using FastPath.Scenarios.Runner;

namespace FastPath.Scenarios.Tests;

public sealed class NginxOriginTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("fastpath-nginx-origin-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task Serves64Bytes_AndNamesTheForwardingFieldsItReceived()
    {
        int port = ScenarioRunner.FreePort();
        ChildProcess origin = NginxOrigin.Start(_work, port, bodyBytes: 64, core: 0);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            HttpResponseMessage small = await GetWhenUpAsync(http, $"http://127.0.0.1:{port}/small", origin);
            Assert.Equal(HttpStatusCode.OK, small.StatusCode);
            Assert.Equal("text/plain", small.Content.Headers.ContentType?.MediaType);
            Assert.Equal(new string('a', 64), await small.Content.ReadAsStringAsync());

            using var forwarded = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}{OriginOptions.ForwardedPath}");
            forwarded.Headers.Add("X-Forwarded-For", "10.0.0.1");
            forwarded.Headers.Add("X-Request-ID", "abc");
            using HttpResponseMessage answer = await http.SendAsync(forwarded);
            string[] seen = (await answer.Content.ReadAsStringAsync()).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(["x-forwarded-for", "x-request-id"], seen);

            string none = await http.GetStringAsync($"http://127.0.0.1:{port}{OriginOptions.ForwardedPath}");
            Assert.Equal("", none.Trim());
        }
        finally
        {
            origin.Kill();
        }
    }

    [Fact]
    public void EveryNginxConfigTheRunnerWrites_PassesNginxsOwnCheck()
    {
        H2Peers.TlsFiles tls = H2Peers.WriteCertificate(_work);
        foreach ((string name, string text) in new[]
        {
            ("origin", NginxOrigin.Config(_work, 19000, 64)),
            ("proxy", Peers.NginxConfig(_work, 19001, 19000, forwarding: true)),
            ("proxy-bare", Peers.NginxConfig(_work, 19001, 19000, forwarding: false)),
            ("h2-proxy", H2Peers.NginxConfig(_work, tls, 19002, 19000, forwarding: true)),
        })
        {
            string file = Path.Combine(_work, name + ".conf");
            File.WriteAllText(file, text + "\n");
            var check = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(Peers.NginxPath, ["-t", "-p", _work + "/", "-c", file, "-e", "stderr"])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            })!;
            string errors = check.StandardError.ReadToEnd();
            check.WaitForExit();
            Assert.True(check.ExitCode == 0, $"{name}: {errors}");
        }
    }

    [Fact]
    public void ABodyLongerThanTheConfigTokenAllows_IsAUsageError() =>
        Assert.Throws<UsageException>(() => NginxOrigin.Config(_work, 1, 4001));

    [Theory]
    [InlineData("nginx", "nginx")]
    [InlineData("kestrel", "kestrel")]
    public void H2Options_TakeTheOrigin(string flag, string expected) =>
        Assert.Equal(expected, H2Options.Parse(["--peers", "haproxy", "--origin", flag]).Origin);

    [Fact]
    public void H2Options_DefaultToNginx_AndRejectAnUnknownOrigin()
    {
        Assert.Equal(NginxOrigin.Name, H2Options.Parse(["--peers", "haproxy"]).Origin);
        UsageException e = Assert.Throws<UsageException>(() => H2Options.Parse(["--peers", "haproxy", "--origin", "apache"]));
        Assert.Contains("apache", e.Message, StringComparison.Ordinal);
    }

    private static async Task<HttpResponseMessage> GetWhenUpAsync(HttpClient http, string url, ChildProcess origin)
    {
        DateTime until = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            Assert.False(origin.HasExited, "nginx exited: " + origin.Tail());
            try
            {
                return await http.GetAsync(url);
            }
            catch (HttpRequestException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(100);
            }
        }
    }
}
