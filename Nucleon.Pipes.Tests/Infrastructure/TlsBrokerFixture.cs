using System.Globalization;
using System.Security.Cryptography.X509Certificates;

namespace Nucleon.Pipes.Tests.Infrastructure;

/// <summary>
/// A private RabbitMQ node with an amqps listener (<see cref="TlsPort"/> = AMQP port + 1000) and SASL
/// EXTERNAL (rabbitmq_auth_mechanism_ssl, user from the client certificate's CN). The certificates are
/// made at start-up by scripts/tls-certs.sh in a temporary directory that is deleted afterwards.
/// </summary>
public sealed class TlsBrokerFixture : BrokerFixture
{
    /// <summary>The user the client certificate (CN) maps to; it also has a password for PLAIN.</summary>
    public const string TlsUser = "nucleon-tls-user";

    /// <summary>Distinctive, so tests can check it never leaks into messages.</summary>
    public const string TlsUserPassword = "Nucleon-Tls-Pa55word-7f3a9c";

    private const int TlsPortOffset = 1000;
    private readonly List<X509Certificate2> _loaded = [];

    /// <summary>Directory holding the PEM files written by scripts/tls-certs.sh.</summary>
    public string CertificateDirectory { get; private set; } = "";

    public int TlsPort => Port + TlsPortOffset;

    /// <summary>The test CA (public part).</summary>
    public X509Certificate2 CaCertificate { get; private set; } = null!;

    /// <summary>CN=nucleon-tls-user with its private key, signed by the test CA.</summary>
    public X509Certificate2 ClientCertificate { get; private set; } = null!;

    protected override bool RequiresPrivateNode => true;

    protected override IEnumerable<int> AdditionalPorts(int amqpPort) => [amqpPort + TlsPortOffset];

    /// <summary>TLS options trusting the test CA only.</summary>
    public AmqpTlsOptions TrustTestCa() => new() { TrustedAuthorities = [CaCertificate] };

    /// <summary>Options for an amqps connection to the node (127.0.0.1, matched by the certificate's IP SAN) as the TLS user with PLAIN.</summary>
    public AmqpConnectionOptions TlsOptions(AmqpTlsOptions tls, string? connectionName = null) => new()
    {
        Endpoints = [new AmqpEndpoint("127.0.0.1", TlsPort)],
        UseTls = true,
        Tls = tls,
        UserName = TlsUser,
        Password = TlsUserPassword,
        ClientProvidedName = connectionName,
        ConnectionTimeout = TimeSpan.FromSeconds(10),
        InitialConnectTimeout = TimeSpan.FromSeconds(20),
    };

    /// <summary>
    /// Loads one of the generated certificates with its private key (via PKCS#12, which SslStream
    /// needs on every platform), e.g. "server", "expired-server", "unknown-server", "wrong-name-server".
    /// </summary>
    public X509Certificate2 LoadWithKey(string name)
    {
        using var pem = X509Certificate2.CreateFromPemFile(PemPath(name), Path.Combine(CertificateDirectory, name + ".key"));
        var cert = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        lock (_loaded)
        {
            _loaded.Add(cert);
        }

        return cert;
    }

    public string PemPath(string name) => Path.Combine(CertificateDirectory, name + ".pem");

    protected override async Task<IReadOnlyList<string>> PrepareNodeAsync(int amqpPort)
    {
        if (CertificateDirectory.Length == 0)
        {
            CertificateDirectory = Directory.CreateTempSubdirectory("nucleon-tls-").FullName;
            var script = Path.Combine(FindRepositoryRoot(), "scripts", "tls-certs.sh");
            await ProcessRunner.RunCheckedAsync("bash", [script, CertificateDirectory], TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            CaCertificate = X509CertificateLoader.LoadCertificateFromFile(PemPath("ca"));
            ClientCertificate = LoadWithKey("client");
        }

        var d = CertificateDirectory;
        var conf = Path.Combine(d, $"tls-{amqpPort.ToString(CultureInfo.InvariantCulture)}.conf");
        await File.WriteAllLinesAsync(conf,
        [
            $"listeners.ssl.1 = 127.0.0.1:{(amqpPort + TlsPortOffset).ToString(CultureInfo.InvariantCulture)}",
            $"ssl_options.cacertfile = {d}/ca.pem",
            $"ssl_options.certfile = {d}/server.pem",
            $"ssl_options.keyfile = {d}/server.key",
            "ssl_options.verify = verify_peer",
            "ssl_options.fail_if_no_peer_cert = false",
            "ssl_options.versions.1 = tlsv1.3",
            "ssl_options.versions.2 = tlsv1.2",
            "auth_mechanisms.1 = PLAIN",
            "auth_mechanisms.2 = AMQPLAIN",
            "auth_mechanisms.3 = EXTERNAL",
            "ssl_cert_login_from = common_name",
        ]).ConfigureAwait(false);
        return ["--conf", conf, "--plugins", "rabbitmq_auth_mechanism_ssl"];
    }

    protected override async Task OnNodeStartedAsync()
    {
        await CtlAsync("add_user", TlsUser, TlsUserPassword).ConfigureAwait(false);
        await CtlAsync("set_permissions", "-p", "/", TlsUser, ".*", ".*", ".*").ConfigureAwait(false);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync().ConfigureAwait(false);
        lock (_loaded)
        {
            foreach (var cert in _loaded)
            {
                cert.Dispose();
            }

            _loaded.Clear();
        }

        CaCertificate?.Dispose();
        if (CertificateDirectory.Length > 0 && Environment.GetEnvironmentVariable(KeepDirVariable) != "1")
        {
            try
            {
                Directory.Delete(CertificateDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

/// <summary>TLS test classes share one TLS-enabled node: <c>[Collection("tls-broker")]</c>.</summary>
[CollectionDefinition(Name)]
public sealed class TlsBrokerCollection : ICollectionFixture<TlsBrokerFixture>
{
    public const string Name = "tls-broker";
}
