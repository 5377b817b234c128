// Where certificates and trust bundles live at run time, whatever their source. Each is an entry whose material is
// swapped atomically by Update: handshakes read the current material once, so a new handshake uses the new
// certificate and connections already up keep theirs. Files named in the config are one source (polled here, so
// an atomic rename or a Kubernetes secret's symlink swap is seen as surely as an in-place write); the control
// service will be another, calling the same Update methods.
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace FastPath.Tls;

/// <summary>A certificate with its private key and the intermediates to send with it.</summary>
internal sealed class CertificateMaterial
{
    public CertificateMaterial(X509Certificate2 leaf, X509Certificate2Collection intermediates)
    {
        Leaf = leaf;
        Context = SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
    }

    public X509Certificate2 Leaf { get; }
    public SslStreamCertificateContext Context { get; }
}

/// <summary>One certificate that can be replaced at run time (rotation, a push from the control service).</summary>
internal sealed class ReloadableCertificate(string key)
{
    private CertificateMaterial? _current;

    public string Key { get; } = key;
    /// <summary>Null until the first Update (a pushed identity not yet received).</summary>
    public CertificateMaterial? Current => Volatile.Read(ref _current);

    public void Update(CertificateMaterial material) => Volatile.Write(ref _current, material);
}

/// <summary>Root certificates peers are verified against, replaceable at run time like certificates.</summary>
internal sealed class ReloadableTrustBundle(string key)
{
    private X509Certificate2Collection _roots = [];

    public string Key { get; } = key;
    public X509Certificate2Collection Roots => Volatile.Read(ref _roots);

    public void Update(X509Certificate2Collection roots) => Volatile.Write(ref _roots, roots);
}

internal sealed class CertificateStore
{
    /// <summary>The workload's own identity (SPIFFE certificate) and the mesh's roots.</summary>
    public const string MeshKey = "mesh";

    private static readonly long PollIntervalMs = 1000;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, ReloadableCertificate> _certificates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ReloadableTrustBundle> _bundles = new(StringComparer.Ordinal);
    private readonly List<FileSource> _files = [];
    private readonly ILogger? _logger;
    private long _nextPoll;

    public CertificateStore(ILogger? logger = null) => _logger = logger;

    public ReloadableCertificate Certificate(string key)
    {
        lock (_lock)
        {
            if (!_certificates.TryGetValue(key, out ReloadableCertificate? c)) _certificates[key] = c = new ReloadableCertificate(key);
            return c;
        }
    }

    public ReloadableTrustBundle TrustBundle(string key)
    {
        lock (_lock)
        {
            if (!_bundles.TryGetValue(key, out ReloadableTrustBundle? b)) _bundles[key] = b = new ReloadableTrustBundle(key);
            return b;
        }
    }

    /// <summary>Replaces a certificate (a push from the control service, or a file that changed).</summary>
    public void Update(string key, CertificateMaterial material) => Certificate(key).Update(material);

    public void UpdateTrustBundle(string key, X509Certificate2Collection roots) => TrustBundle(key).Update(roots);

    /// <summary>
    /// The certificate entry kept in step with a PEM certificate file (leaf first, then intermediates) and a PEM key
    /// file; loaded now. Throws (CryptographicException, IOException) when they cannot be read or do not match.
    /// </summary>
    public ReloadableCertificate WatchCertificateFiles(string certFile, string keyFile, string? key = null)
    {
        key ??= $"file:{certFile}|{keyFile}";
        ReloadableCertificate entry = Certificate(key);
        lock (_lock)
        {
            FileSource? source = _files.Find(f => f.Key == key && f.CertFile == certFile && f.KeyFile == keyFile);
            if (source is null)
            {
                source = new FileSource(key, certFile, keyFile);
                source.Reload(this, force: true); // throws: the config that named these files is refused
                // One file source per entry: the mesh identity moved to other files stops following the old ones.
                _files.RemoveAll(f => f.Key == key && f.KeyFile is not null);
                _files.Add(source);
            }
        }
        return entry;
    }

    /// <summary>The trust bundle kept in step with a PEM file of root certificates; loaded now (throws like above).</summary>
    public ReloadableTrustBundle WatchTrustBundleFile(string file, string? key = null)
    {
        key ??= $"file:{file}";
        ReloadableTrustBundle entry = TrustBundle(key);
        lock (_lock)
        {
            FileSource? source = _files.Find(f => f.Key == key && f.CertFile == file && f.KeyFile is null);
            if (source is null)
            {
                source = new FileSource(key, file, null);
                source.Reload(this, force: true);
                _files.RemoveAll(f => f.Key == key && f.KeyFile is null);
                _files.Add(source);
            }
        }
        return entry;
    }

    /// <summary>Heartbeat: once a second, reloads files whose content changed. A file caught half-written (a key
    /// that does not match its certificate yet) leaves the entry as it was and is tried again next time.</summary>
    public void Poll(long now)
    {
        if (now < _nextPoll) return;
        _nextPoll = now + PollIntervalMs;
        FileSource[] files;
        lock (_lock) files = [.. _files];
        foreach (FileSource f in files)
        {
            try
            {
                if (f.Reload(this, force: false) && _logger is not null) TlsLog.CertificateReloaded(_logger, f.CertFile);
            }
            catch (Exception e)
            {
                if (_logger is not null && f.ReportFailureOnce()) TlsLog.CertificateReloadFailed(_logger, f.CertFile, e.Message);
            }
        }
    }

    public static X509Certificate2Collection LoadTrustBundle(string file)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(file);
        if (roots.Count == 0) throw new System.Security.Cryptography.CryptographicException($"no certificate in '{file}'");
        return roots;
    }

    public static CertificateMaterial LoadCertificate(string certFile, string keyFile)
    {
        X509Certificate2 leaf = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(certFile);
        var intermediates = new X509Certificate2Collection();
        for (int i = 1; i < all.Count; i++) intermediates.Add(all[i]);
        return new CertificateMaterial(leaf, intermediates);
    }

    private sealed class FileSource(string key, string certFile, string? keyFile)
    {
        private byte[] _certBytes = [];
        private byte[] _keyBytes = [];
        private bool _failureReported;

        public string Key { get; } = key;
        public string CertFile { get; } = certFile;
        public string? KeyFile { get; } = keyFile;

        /// <summary>Loads when the content differs from what was last applied; true when it applied something.</summary>
        public bool Reload(CertificateStore store, bool force)
        {
            byte[] cert = File.ReadAllBytes(CertFile);
            byte[] key = KeyFile is null ? [] : File.ReadAllBytes(KeyFile);
            if (!force && cert.AsSpan().SequenceEqual(_certBytes) && key.AsSpan().SequenceEqual(_keyBytes)) return false;
            if (KeyFile is null) store.UpdateTrustBundle(Key, LoadTrustBundle(CertFile));
            else store.Update(Key, LoadCertificate(CertFile, KeyFile));
            _certBytes = cert;
            _keyBytes = key;
            _failureReported = false;
            return true;
        }

        public bool ReportFailureOnce()
        {
            if (_failureReported) return false;
            _failureReported = true;
            return true;
        }
    }
}
