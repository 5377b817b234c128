// An HTTP/1.1 origin whose every answer a test scripts per try: it counts the tries of each request (by the id in
// its query), records what each try carried (x-envoy-attempt-count, body) and then answers, resets, closes or stalls
// as the script says. Several origins can share one TryLog, so a retry that moves to another endpoint still counts.
using System.Collections.Concurrent;
using System.Globalization;

namespace FastPath.EndToEnd.Testing;

/// <summary>One try of a request as the origin saw it; Try counts from 1 per request id across the shared log.</summary>
public sealed record SeenTry(string Method, string Path, string Id, int Try, string? AttemptCount, byte[] Body, int OriginPort);

/// <summary>What the origin does with a try: answer with Status, reset (Status 0) or close (Status -1), after DelayMs.</summary>
/// <remarks>Headers: extra header lines ("name: value\r\n" each) for the answer.</remarks>
public sealed record Reply(int Status, string Body = "", int DelayMs = 0, string Headers = "")
{
    public static readonly Reply Reset = new(0);
    public static readonly Reply Close = new(-1);
}

public sealed class TryLog
{
    private readonly ConcurrentDictionary<string, int> _counts = new();
    private readonly ConcurrentQueue<SeenTry> _tries = new();

    public int Next(string id) => _counts.AddOrUpdate(id, 1, (_, n) => n + 1);

    public void Add(SeenTry t) => _tries.Enqueue(t);

    public int Count(string id) => _counts.TryGetValue(id, out int n) ? n : 0;

    public IReadOnlyList<SeenTry> For(string id) => [.. _tries.Where(t => t.Id == id).OrderBy(t => t.Try)];
}

public sealed class ScriptedOrigin : IAsyncDisposable
{
    private readonly RawOrigin _origin;

    public ScriptedOrigin(Func<SeenTry, Reply> script, TryLog? log = null)
    {
        Log = log ?? new TryLog();
        _origin = new RawOrigin(c => ServeAsync(c, script));
    }

    public TryLog Log { get; }
    public int Port => _origin.Port;
    public string Address => _origin.Address;

    private async Task ServeAsync(RawOriginConnection c, Func<SeenTry, Reply> script)
    {
        while (true)
        {
            string? head = await c.ReadHeadAsync();
            if (head is null) return;
            string[] lines = head.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            string[] requestLine = lines[0].Split(' ');
            string target = requestLine[1];
            string? Field(string name) => lines.Skip(1).Select(l => l.Split(':', 2))
                .Where(p => p.Length == 2 && p[0].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
                .Select(p => p[1].Trim()).FirstOrDefault();
            long length = long.Parse(Field("content-length") ?? "0", CultureInfo.InvariantCulture);
            bool chunked = Field("transfer-encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true;
            byte[] body = chunked ? await c.ReadChunkedBodyAsync() : length > 0 ? await c.ReadBodyAsync(length) : [];
            int q = target.IndexOf("id=", StringComparison.Ordinal);
            string id = q < 0 ? "" : target[(q + 3)..].Split('&')[0];
            string path = target.Split('?')[0];
            var seen = new SeenTry(requestLine[0], path, id, Log.Next(id), Field("x-envoy-attempt-count"), body, Port);
            Log.Add(seen);

            Reply reply = script(seen);
            if (reply.DelayMs > 0) await Task.Delay(reply.DelayMs, c.Token);
            if (reply.Status == 0)
            {
                c.Reset();
                return;
            }
            if (reply.Status < 0)
            {
                c.Close();
                return;
            }
            string text = reply.Body.Length > 0 ? reply.Body : $"try={seen.Try} status={reply.Status} bytes={body.Length}\n";
            await c.WriteAsync($"HTTP/1.1 {reply.Status} Scripted\r\ncontent-length: {text.Length}\r\nx-try: {seen.Try}\r\n{reply.Headers}\r\n{text}");
        }
    }

    public ValueTask DisposeAsync() => _origin.DisposeAsync();
}
