// Verifies the certificate a TLS peer presented, in either direction: the chain against a trust bundle (the mesh's
// roots or a configured CA file; the system store when none is named), then what the certificate must name: a
// SPIFFE ID in the mesh's trust domain, or one of a configured list of DNS names and URIs. The outcome is written on
// the TlsStream, so the handshake's failure is counted with its reason and the verified identity reaches the filters.
using System.Formats.Asn1;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using FastPath.Security;

namespace FastPath.Tls;

internal sealed class PeerVerifier
{
    private const string SubjectAltNameOid = "2.5.29.17";

    /// <summary>The shared callback: reads the verifier and records the outcome on the stream being authenticated.</summary>
    public static readonly RemoteCertificateValidationCallback Callback = static (sender, certificate, chain, errors) =>
    {
        var stream = (TlsStream)sender;
        return stream.Verifier!.Verify(stream, certificate as X509Certificate2, chain, errors);
    };

    /// <param name="trust">Roots to verify against; null: the system's trust store.</param>
    /// <param name="required">Whether the peer must present a certificate (servers always do; mTLS clients may).</param>
    /// <param name="trustDomain">When set, the peer's SPIFFE ID must be in this trust domain.</param>
    /// <param name="subjectAltNames">When non-empty, one of the peer's DNS or URI SANs must be one of these.</param>
    /// <param name="checkHostName">Upstream without a SAN list: the certificate must be valid for the SNI host.</param>
    public PeerVerifier(ReloadableTrustBundle? trust, bool required, string? trustDomain, IReadOnlyList<string> subjectAltNames, bool checkHostName)
    {
        Trust = trust;
        Required = required;
        TrustDomain = trustDomain;
        SubjectAltNames = subjectAltNames;
        CheckHostName = checkHostName;
    }

    public ReloadableTrustBundle? Trust { get; }
    public bool Required { get; }
    public string? TrustDomain { get; }
    public IReadOnlyList<string> SubjectAltNames { get; }
    public bool CheckHostName { get; }

    public bool Verify(TlsStream stream, X509Certificate2? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            if (!Required) return true;
            stream.Failure = TlsFailure.NoClientCert;
            return false;
        }
        TlsFailure failure = Trust is null ? SystemChainFailure(errors) : ChainFailure(certificate, presented, Trust.Roots);
        if (failure == TlsFailure.None && CheckHostName && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) failure = TlsFailure.WrongSan;
        PeerIdentity? peer = null;
        if (failure == TlsFailure.None)
        {
            foreach (string uri in UriNames(certificate))
                if (PeerIdentity.TryParse(uri, out peer)) break;
            if (TrustDomain is not null && (peer is null || !string.Equals(peer.TrustDomain, TrustDomain, StringComparison.Ordinal)))
                failure = TlsFailure.WrongSan;
            else if (SubjectAltNames.Count > 0 && !NamesOneOf(certificate, SubjectAltNames))
                failure = TlsFailure.WrongSan;
        }
        stream.Failure = failure;
        if (failure != TlsFailure.None) return false;
        stream.Peer = peer;
        stream.PeerVerified = true;
        return true;
    }

    private static TlsFailure SystemChainFailure(SslPolicyErrors errors) =>
        (errors & (SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNotAvailable)) == 0
            ? TlsFailure.None : TlsFailure.UnknownCa;

    private static TlsFailure ChainFailure(X509Certificate2 certificate, X509Chain? presented, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        // The intermediates the peer sent with its certificate.
        if (presented is not null)
        {
            foreach (X509ChainElement e in presented.ChainElements)
                if (!ReferenceEquals(e.Certificate, certificate)) chain.ChainPolicy.ExtraStore.Add(e.Certificate);
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
        }
        if (chain.Build(certificate)) return TlsFailure.None;
        X509ChainStatusFlags flags = 0;
        foreach (X509ChainStatus s in chain.ChainStatus) flags |= s.Status;
        // An expired certificate from an unknown CA is reported as unknown: trust is the first question.
        if ((flags & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0) return TlsFailure.UnknownCa;
        if ((flags & X509ChainStatusFlags.NotTimeValid) != 0) return TlsFailure.Expired;
        return TlsFailure.UnknownCa;
    }

    private static bool NamesOneOf(X509Certificate2 certificate, IReadOnlyList<string> wanted)
    {
        foreach (string uri in UriNames(certificate))
            foreach (string w in wanted)
                if (string.Equals(uri, w, StringComparison.Ordinal)) return true;
        foreach (X509Extension ext in certificate.Extensions)
        {
            if (ext is not X509SubjectAlternativeNameExtension san) continue;
            foreach (string dns in san.EnumerateDnsNames())
                foreach (string w in wanted)
                    if (string.Equals(dns, w, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    /// <summary>
    /// The uniformResourceIdentifier entries of the SubjectAltName extension (RFC 5280 4.2.1.6, GeneralName [6]),
    /// which .NET's SAN extension type does not enumerate. A malformed extension yields nothing.
    /// </summary>
    public static List<string> UriNames(X509Certificate2 certificate)
    {
        var uris = new List<string>(1);
        X509Extension? ext = certificate.Extensions[SubjectAltNameOid];
        if (ext is null) return uris;
        try
        {
            var reader = new AsnReader(ext.RawData, AsnEncodingRules.DER);
            AsnReader names = reader.ReadSequence();
            var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
            while (names.HasData)
            {
                Asn1Tag tag = names.PeekTag();
                if (tag == uriTag) uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag));
                else names.ReadEncodedValue();
            }
        }
        catch (AsnContentException)
        {
            uris.Clear();
        }
        return uris;
    }
}
