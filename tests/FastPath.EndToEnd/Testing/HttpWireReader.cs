// A small buffered reader for HTTP/1.1 on the wire: CRLF lines and exact byte counts, as a test client or a scripted
// origin needs them. Deliberately independent of FastPath's codec, so the tests do not share its bugs.
using System.Text;

namespace FastPath.EndToEnd.Testing;

public sealed class HttpWireReader(Stream stream)
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    public Stream Stream { get; } = stream;

    /// <summary>Whether the last read saw the peer close (EOF).</summary>
    public bool Eof { get; private set; }

    private async Task<bool> FillAsync(CancellationToken token)
    {
        if (_start > 0 && _start == _end) _start = _end = 0;
        if (_end == _buffer.Length)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        int n = await Stream.ReadAsync(_buffer.AsMemory(_end), token);
        if (n == 0)
        {
            Eof = true;
            return false;
        }
        _end += n;
        return true;
    }

    /// <summary>A line without its CRLF (latin-1), or null at EOF before a full line.</summary>
    public async Task<string?> ReadLineAsync(CancellationToken token, int maxLength = 128 * 1024)
    {
        var line = new StringBuilder();
        while (true)
        {
            int lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                line.Append(Encoding.Latin1.GetString(_buffer, _start, lf - _start));
                _start = lf + 1;
                if (line.Length > 0 && line[^1] == '\r') line.Length--;
                return line.ToString();
            }
            line.Append(Encoding.Latin1.GetString(_buffer, _start, _end - _start));
            _start = _end;
            if (line.Length > maxLength) throw new InvalidDataException($"line longer than {maxLength} bytes");
            if (!await FillAsync(token)) return null;
        }
    }

    /// <summary>Reads exactly count bytes into destination (null destination: discard).</summary>
    public async Task ReadExactAsync(long count, Stream? destination, CancellationToken token)
    {
        while (count > 0)
        {
            if (_start == _end && !await FillAsync(token))
                throw new EndOfStreamException($"connection closed with {count} body bytes still expected");
            int take = (int)Math.Min(count, _end - _start);
            if (destination is not null) await destination.WriteAsync(_buffer.AsMemory(_start, take), token);
            _start += take;
            count -= take;
        }
    }

    /// <summary>Reads until EOF; returns the byte count.</summary>
    public async Task<long> ReadToEndAsync(Stream? destination, CancellationToken token)
    {
        long total = 0;
        while (true)
        {
            if (_start < _end)
            {
                int take = _end - _start;
                if (destination is not null) await destination.WriteAsync(_buffer.AsMemory(_start, take), token);
                total += take;
                _start = _end;
            }
            if (!await FillAsync(token)) return total;
        }
    }

    /// <summary>Bytes already buffered but not yet consumed.</summary>
    public int Buffered => _end - _start;
}
