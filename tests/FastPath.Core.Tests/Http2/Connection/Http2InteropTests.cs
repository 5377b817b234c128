// Real HTTP/2 clients against the server engine: curl (prior knowledge), nghttp, and h2load with many concurrent
// streams. Bounded runs (fixed request counts), so they finish in seconds.
using System.Diagnostics;

namespace FastPath.Core.Tests.Http2.Connection;

public sealed class Http2InteropTests
{
    private static async Task<(int Exit, string Out, string Err)> RunAsync(string file, string args, byte[]? stdin = null, int timeoutMs = 20_000)
    {
        var psi = new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await p.StandardInput.BaseStream.WriteAsync(stdin);
            p.StandardInput.Close();
        }
        using var cts = new CancellationTokenSource(timeoutMs);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {args} did not finish");
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    private static async Task WithTempFileAsync(byte[] content, Func<string, Task> use)
    {
        string file = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(file, content);
            await use(file);
        }
        finally
        {
            File.Delete(file);
            File.Delete(file + ".out");
        }
    }

    [Fact]
    public async Task Curl_PriorKnowledge_Get()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        var (exit, output, err) = await RunAsync("curl", $"-sS --http2-prior-knowledge -D - http://127.0.0.1:{host.Port}/size/11");
        Assert.True(exit == 0, err);
        Assert.StartsWith("HTTP/2 200", output, StringComparison.Ordinal);
        Assert.Contains("x-stream-id: 1", output, StringComparison.Ordinal);
        Assert.EndsWith("xxxxxxxxxxx", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Curl_PriorKnowledge_PostLargeBody_EchoedBeyondWindows()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        byte[] body = new byte[5 << 20];
        new Random(3).NextBytes(body);
        await WithTempFileAsync(body, async file =>
        {
            var (exit, _, err) = await RunAsync("curl", $"-sS --http2-prior-knowledge --data-binary @{file} -o {file}.out http://127.0.0.1:{host.Port}/echo");
            Assert.True(exit == 0, err);
            Assert.Equal(body, await File.ReadAllBytesAsync(file + ".out"));
        });
    }

    [Fact]
    public async Task Nghttp_PostWithBody_AndConcurrentGets()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await WithTempFileAsync("hello from nghttp"u8.ToArray(), async file =>
        {
            var (exit, output, err) = await RunAsync("nghttp", $"-d {file} http://127.0.0.1:{host.Port}/echo");
            Assert.True(exit == 0, err + output);
            Assert.Equal("hello from nghttp", output);

            // -a off, several URIs on one connection: concurrent streams; -s prints per-stream stats.
            (exit, output, err) = await RunAsync("nghttp", $"-n -s http://127.0.0.1:{host.Port}/size/100000 http://127.0.0.1:{host.Port}/size/1 http://127.0.0.1:{host.Port}/size/300000");
            Assert.True(exit == 0, err + output);
            Assert.Equal(3, output.Split('\n').Count(l => l.Contains("/size/", StringComparison.Ordinal)));
        });
    }

    [Fact]
    public async Task H2load_2000Requests_4Connections_50Streams_AllSucceed()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        var (exit, output, err) = await RunAsync("h2load", $"-n 2000 -c 4 -m 50 http://127.0.0.1:{host.Port}/size/100");
        Assert.True(exit == 0, err + output);
        Assert.Contains("2000 succeeded, 0 failed, 0 errored", output, StringComparison.Ordinal);
        Assert.Contains("status codes: 2000 2xx", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task H2load_PostBodies_Echoed()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await WithTempFileAsync(new byte[100_000], async file =>
        {
            var (exit, output, err) = await RunAsync("h2load", $"-n 200 -c 2 -m 20 -d {file} http://127.0.0.1:{host.Port}/echo");
            Assert.True(exit == 0, err + output);
            Assert.Contains("200 succeeded, 0 failed, 0 errored", output, StringComparison.Ordinal);
        });
    }
}
