// HTTPS for the Kestrel origins (OriginServer, GrpcOrigin): a certificate issued by a TestPki and, for mutual TLS,
// the CA every client certificate must chain to. ALPN follows the listener's protocols (h2 only, or http/1.1 only),
// as Kestrel does, so an HTTP/2-only origin refuses a client that does not offer h2 and vice versa.
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace FastPath.EndToEnd.Testing;

/// <param name="ClientCa">Require a client certificate that chains to this CA; null: none asked for.</param>
public sealed record OriginTls(Issued Certificate, X509Certificate2? ClientCa = null)
{
    internal void Apply(ListenOptions listen)
    {
        // Through PKCS#12 so the private key is usable by the TLS stack on every platform.
        using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(Certificate.CertFile, Certificate.KeyFile);
        X509Certificate2 certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        listen.UseHttps(https =>
        {
            https.ServerCertificate = certificate;
            if (ClientCa is not { } ca) return;
            https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            https.ClientCertificateValidation = (client, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(client);
            };
        });
    }
}
