using Nucleon.Pipes.Connection;

namespace Nucleon.Pipes.Tests.Unit.Connection;

public class AmqpUriTests
{
    private const string Secret = "s3cr3t-pw";

    // ---------------------------------------------------------------- defaults

    [Fact]
    public void Parse_BareAmqp_GivesDefaults()
    {
        var o = AmqpConnectionOptions.Parse("amqp://");

        Assert.Equal("guest", o.UserName);
        Assert.Equal("guest", o.Password);
        Assert.Equal("/", o.VirtualHost);
        Assert.False(o.UseTls);
        var e = Assert.Single(o.Endpoints);
        Assert.Equal(new AmqpEndpoint("localhost", 5672), e);
    }

    [Fact]
    public void Parse_HostOnly_KeepsOptionDefaults()
    {
        var defaults = new AmqpConnectionOptions();
        var o = AmqpConnectionOptions.Parse("amqp://rabbit");

        Assert.Equal(new AmqpEndpoint("rabbit", 5672), Assert.Single(o.Endpoints));
        Assert.Equal("guest", o.UserName);
        Assert.Equal("guest", o.Password);
        Assert.Equal("/", o.VirtualHost);
        Assert.Equal(defaults.Heartbeat, o.Heartbeat);
        Assert.Equal(defaults.FrameMax, o.FrameMax);
        Assert.Equal(defaults.ChannelMax, o.ChannelMax);
        Assert.Equal(defaults.ConnectionTimeout, o.ConnectionTimeout);
        Assert.Equal("PLAIN", o.AuthMechanism);
        Assert.Null(o.ClientProvidedName);
    }

    [Theory]
    [InlineData("amqps://")]
    [InlineData("amqps://localhost")]
    [InlineData("AMQPS://localhost")]
    public void Parse_Amqps_UsesTlsAndPort5671(string uri)
    {
        var o = AmqpConnectionOptions.Parse(uri);

        Assert.True(o.UseTls);
        Assert.Equal(new AmqpEndpoint("localhost", 5671), Assert.Single(o.Endpoints));
    }

    [Fact]
    public void Parse_AmqpsWithExplicitPort_KeepsPort()
    {
        var o = AmqpConnectionOptions.Parse("amqps://h:5999");

        Assert.True(o.UseTls);
        Assert.Equal(new AmqpEndpoint("h", 5999), Assert.Single(o.Endpoints));
    }

    [Fact]
    public void Parse_SchemeIsCaseInsensitive_AndWhitespaceIsTrimmed()
    {
        var o = AmqpConnectionOptions.Parse("  AMQP://u:p@h:1234/vh \t");

        Assert.False(o.UseTls);
        Assert.Equal("u", o.UserName);
        Assert.Equal("p", o.Password);
        Assert.Equal(new AmqpEndpoint("h", 1234), Assert.Single(o.Endpoints));
        Assert.Equal("vh", o.VirtualHost);
    }

    [Fact]
    public void Parse_UserWithoutPassword_KeepsDefaultPassword()
    {
        var o = AmqpConnectionOptions.Parse("amqp://bob@h");

        Assert.Equal("bob", o.UserName);
        Assert.Equal("guest", o.Password);
    }

    [Fact]
    public void Parse_EmptyPassword_IsEmpty()
    {
        var o = AmqpConnectionOptions.Parse("amqp://bob:@h");

        Assert.Equal("bob", o.UserName);
        Assert.Equal(string.Empty, o.Password);
    }

    [Fact]
    public void Parse_UserInfoWithoutHost_UsesLocalhost()
    {
        var o = AmqpConnectionOptions.Parse("amqp://u:p@/vh");

        Assert.Equal(new AmqpEndpoint("localhost", 5672), Assert.Single(o.Endpoints));
        Assert.Equal("vh", o.VirtualHost);
    }

    [Fact]
    public void Parse_NullUri_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => AmqpConnectionOptions.Parse(null!));
    }

    // ---------------------------------------------------------------- percent-encoding, vhost

    [Fact]
    public void Parse_PercentEncodedUserPasswordVhost_AreDecoded()
    {
        var o = AmqpConnectionOptions.Parse("amqp://us%40er:p%40ss%3Aw%2Fd%25@h/my%2Fvh%20x");

        Assert.Equal("us@er", o.UserName);
        Assert.Equal("p@ss:w/d%", o.Password);
        Assert.Equal("my/vh x", o.VirtualHost);
    }

    [Theory]
    [InlineData("amqp://h", "/")]
    [InlineData("amqp://h/", "/")]
    [InlineData("amqp://h/%2f", "/")]
    [InlineData("amqp://h/%2F", "/")]
    [InlineData("amqp://h/vh", "vh")]
    [InlineData("amqp://h/%2fvh", "/vh")]
    [InlineData("amqp://h/v%40h", "v@h")]
    [InlineData("amqp://h/vh?heartbeat=5", "vh")]
    [InlineData("amqp://h?heartbeat=5", "/")]
    [InlineData("amqp://h/?heartbeat=5", "/")]
    public void Parse_VirtualHost(string uri, string expected)
    {
        Assert.Equal(expected, AmqpConnectionOptions.Parse(uri).VirtualHost);
    }

    [Fact]
    public void Parse_RawColonAndAtInPassword_SplitAtFirstColonAndLastAt()
    {
        var o = AmqpConnectionOptions.Parse("amqp://u:a:b@c@h:5673/vh");

        Assert.Equal("u", o.UserName);
        Assert.Equal("a:b@c", o.Password);
        Assert.Equal(new AmqpEndpoint("h", 5673), Assert.Single(o.Endpoints));
    }

    // ---------------------------------------------------------------- hosts

    [Theory]
    [InlineData("amqp://[::1]:5673", "::1", 5673)]
    [InlineData("amqp://[::1]", "::1", 5672)]
    [InlineData("amqps://[fe80::1]", "fe80::1", 5671)]
    [InlineData("amqp://u:p@[2001:db8::7]:1/vh", "2001:db8::7", 1)]
    [InlineData("amqp://127.0.0.1:65535", "127.0.0.1", 65535)]
    [InlineData("amqp://rabbit.example.com:5672", "rabbit.example.com", 5672)]
    public void Parse_SingleHost(string uri, string host, int port)
    {
        Assert.Equal(new AmqpEndpoint(host, port), Assert.Single(AmqpConnectionOptions.Parse(uri).Endpoints));
    }

    [Fact]
    public void Parse_SeveralHosts_KeepsOrderAndPorts()
    {
        var o = AmqpConnectionOptions.Parse("amqp://u:p@h1:5672,h2:5673/vh");

        Assert.Equal([new AmqpEndpoint("h1", 5672), new AmqpEndpoint("h2", 5673)], o.Endpoints);
        Assert.Equal("u", o.UserName);
        Assert.Equal("p", o.Password);
        Assert.Equal("vh", o.VirtualHost);
    }

    [Fact]
    public void Parse_SeveralHosts_DefaultPortPerScheme()
    {
        Assert.Equal(
            [new AmqpEndpoint("h1", 5672), new AmqpEndpoint("h2", 5672), new AmqpEndpoint("h3", 9)],
            AmqpConnectionOptions.Parse("amqp://h1,h2,h3:9").Endpoints);
        Assert.Equal(
            [new AmqpEndpoint("h1", 5671), new AmqpEndpoint("::1", 5671), new AmqpEndpoint("h3", 9)],
            AmqpConnectionOptions.Parse("amqps://h1,[::1],h3:9").Endpoints);
    }

    [Fact]
    public void Parse_SeveralHosts_MixedIpv6()
    {
        Assert.Equal(
            [new AmqpEndpoint("::1", 5673), new AmqpEndpoint("h2", 5674)],
            AmqpConnectionOptions.Parse("amqp://[::1]:5673,h2:5674").Endpoints);
    }

    // ---------------------------------------------------------------- query parameters

    [Theory]
    [InlineData("heartbeat=0", 0)]
    [InlineData("heartbeat=10", 10)]
    [InlineData("heartbeat=65535", 65535)]
    [InlineData("HEARTBEAT=7", 7)]
    public void Parse_Heartbeat_InSeconds(string query, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), AmqpConnectionOptions.Parse("amqp://h/?" + query).Heartbeat);
    }

    [Theory]
    [InlineData("frame_max=0", 0u)]
    [InlineData("frame_max=4096", 4096u)]
    [InlineData("frame_max=131072", 131072u)]
    [InlineData("frame_max=4294967295", uint.MaxValue)]
    public void Parse_FrameMax(string query, uint expected)
    {
        Assert.Equal(expected, AmqpConnectionOptions.Parse("amqp://h/?" + query).FrameMax);
    }

    [Theory]
    [InlineData("channel_max=0", 0)]
    [InlineData("channel_max=100", 100)]
    [InlineData("channel_max=65535", 65535)]
    public void Parse_ChannelMax(string query, int expected)
    {
        Assert.Equal(expected, AmqpConnectionOptions.Parse("amqp://h/?" + query).ChannelMax);
    }

    [Theory]
    [InlineData("connection_timeout=1", 1)]
    [InlineData("connection_timeout=2500", 2500)]
    public void Parse_ConnectionTimeout_InMilliseconds(string query, int ms)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(ms), AmqpConnectionOptions.Parse("amqp://h/?" + query).ConnectionTimeout);
    }

    [Theory]
    [InlineData("plain", "PLAIN")]
    [InlineData("PLAIN", "PLAIN")]
    [InlineData("amqplain", "AMQPLAIN")]
    [InlineData("AMQPlain", "AMQPLAIN")]
    public void Parse_AuthMechanism(string value, string expected)
    {
        Assert.Equal(expected, AmqpConnectionOptions.Parse("amqp://h/?auth_mechanism=" + value).AuthMechanism);
    }

    [Theory]
    [InlineData("connection_name=orders", "orders")]
    [InlineData("connection_name=my%20app%26co", "my app&co")]
    [InlineData("connection_name=", "")]
    public void Parse_ConnectionName(string query, string expected)
    {
        Assert.Equal(expected, AmqpConnectionOptions.Parse("amqp://h/?" + query).ClientProvidedName);
    }

    [Fact]
    public void Parse_AllQueryParametersTogether()
    {
        var o = AmqpConnectionOptions.Parse(
            "amqps://u:p@h1,h2:5673/prod?heartbeat=15&frame_max=8192&channel_max=64&connection_timeout=750&auth_mechanism=amqplain&connection_name=svc&");

        Assert.True(o.UseTls);
        Assert.Equal([new AmqpEndpoint("h1", 5671), new AmqpEndpoint("h2", 5673)], o.Endpoints);
        Assert.Equal("prod", o.VirtualHost);
        Assert.Equal(TimeSpan.FromSeconds(15), o.Heartbeat);
        Assert.Equal(8192u, o.FrameMax);
        Assert.Equal(64, o.ChannelMax);
        Assert.Equal(TimeSpan.FromMilliseconds(750), o.ConnectionTimeout);
        Assert.Equal("AMQPLAIN", o.AuthMechanism);
        Assert.Equal("svc", o.ClientProvidedName);
    }

    [Fact]
    public void Parse_RepeatedQueryParameter_LastWins()
    {
        Assert.Equal(TimeSpan.FromSeconds(2), AmqpConnectionOptions.Parse("amqp://h?heartbeat=1&heartbeat=2").Heartbeat);
    }

    // ---------------------------------------------------------------- errors

    public static TheoryData<string> UriFormatErrors => new()
    {
        // no scheme
        $"u:{Secret}@localhost:5672/vh",
        $"localhost:5672",
        // wrong scheme
        $"http://u:{Secret}@h/vh",
        $"amqpx://u:{Secret}@h",
        // bad port
        $"amqp://u:{Secret}@h:0/vh",
        $"amqp://u:{Secret}@h:70000/vh",
        $"amqp://u:{Secret}@h:abc/vh",
        $"amqp://u:{Secret}@h:-1/vh",
        $"amqp://u:{Secret}@h:/vh",
        $"amqp://u:{Secret}@[::1]:99999/vh",
        $"amqps://u:{Secret}@h1:5671,h2:0/vh",
        // bad host
        $"amqp://u:{Secret}@h1,,h2/vh",
        $"amqp://u:{Secret}@:5672/vh",
        $"amqp://u:{Secret}@[::1/vh",
        $"amqp://u:{Secret}@[::1]x/vh",
        // bad percent escapes
        $"amqp://u:{Secret}%zz@h/vh",
        $"amqp://u:{Secret}%2@h/vh",
        $"amqp://u:{Secret}%@h/vh",
        $"amqp://u%g1:{Secret}@h/vh",
        $"amqp://u:{Secret}@h/v%2",
        $"amqp://u:{Secret}@h/v%xyh",
        // two path segments
        $"amqp://u:{Secret}@h/a/b",
        $"amqp://u:{Secret}@h//",
        // malformed URIs where the password itself is what went wrong: still never echo it
        $"amqp://u:{Secret}/x@h/vh",
        $"amqp://u:x/{Secret}@h/vh",
        $"amqp:/u:{Secret}@h/vh",
        $"amqp:u:{Secret}@h/vh",
        $"amqp//u:{Secret}@h/vh",
        $"amqp://u:x?{Secret}@h/vh",
    };

    [Theory]
    [MemberData(nameof(UriFormatErrors))]
    public void Parse_MalformedUri_ThrowsUriFormatException_WithoutPassword(string uri)
    {
        var ex = Assert.Throws<UriFormatException>(() => AmqpConnectionOptions.Parse(uri));

        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
        AssertNoSecret(ex);
    }

    public static TheoryData<string> ArgumentErrors => new()
    {
        // unknown query parameter
        $"amqp://u:{Secret}@h/vh?bogus=1",
        $"amqp://u:{Secret}@h/vh?heartbeat=5&Frame-Max=4096",
        $"amqp://u:{Secret}@h/vh?heartbeat",
        // frame_max must be 0 or >= 4096
        $"amqp://u:{Secret}@h/vh?frame_max=100",
        $"amqp://u:{Secret}@h/vh?frame_max=4095",
        $"amqp://u:{Secret}@h/vh?frame_max=4294967296",
        // heartbeat
        $"amqp://u:{Secret}@h/vh?heartbeat=-1",
        $"amqp://u:{Secret}@h/vh?heartbeat=abc",
        $"amqp://u:{Secret}@h/vh?heartbeat=1.5",
        $"amqp://u:{Secret}@h/vh?heartbeat=",
        $"amqp://u:{Secret}@h/vh?heartbeat=65536",
        // channel_max
        $"amqp://u:{Secret}@h/vh?channel_max=65536",
        $"amqp://u:{Secret}@h/vh?channel_max=-1",
        // connection_timeout
        $"amqp://u:{Secret}@h/vh?connection_timeout=0",
        $"amqp://u:{Secret}@h/vh?connection_timeout=-5",
        $"amqp://u:{Secret}@h/vh?connection_timeout=2147483648",
        // auth_mechanism
        $"amqp://u:{Secret}@h/vh?auth_mechanism=external",
        $"amqp://u:{Secret}@h/vh?auth_mechanism=",
    };

    [Theory]
    [MemberData(nameof(ArgumentErrors))]
    public void Parse_BadQueryParameter_ThrowsArgumentException_WithoutPassword(string uri)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => AmqpConnectionOptions.Parse(uri));

        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
        AssertNoSecret(ex);
    }

    [Fact]
    public void Parse_UnknownQueryParameter_NamesIt()
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => AmqpConnectionOptions.Parse($"amqp://u:{Secret}@h/vh?bogus=1"));

        Assert.Contains("bogus", ex.Message, StringComparison.Ordinal);
        AssertNoSecret(ex);
    }

    [Fact]
    public void Parse_UnknownQueryParameter_NamesItEvenInUpperCase()
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => AmqpConnectionOptions.Parse($"amqp://u:{Secret}@h/vh?Bogus=1"));

        Assert.Contains("bogus", ex.Message, StringComparison.Ordinal);
        AssertNoSecret(ex);
    }

    [Fact]
    public void Parse_BadHeartbeat_NamesValue()
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => AmqpConnectionOptions.Parse($"amqp://u:{Secret}@h/vh?heartbeat=abc"));

        Assert.Contains("heartbeat=abc", ex.Message, StringComparison.Ordinal);
        AssertNoSecret(ex);
    }

    [Fact]
    public void Parse_BadPort_NamesPortAndMasksPassword()
    {
        var ex = Assert.Throws<UriFormatException>(() => AmqpConnectionOptions.Parse($"amqp://u:{Secret}@h:abc/vh"));

        Assert.Contains("abc", ex.Message, StringComparison.Ordinal);
        Assert.Contains("u:***@h:abc/vh", ex.Message, StringComparison.Ordinal);
        AssertNoSecret(ex);
    }

    [Fact]
    public void Parse_FrameMaxTooSmall_IsOutOfRange()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => AmqpConnectionOptions.Parse($"amqp://u:{Secret}@h/?frame_max=100"));
    }

    [Fact]
    public void Parse_PercentEncodedSecretInPassword_NotInMessage()
    {
        // The message must not leak the decoded nor the encoded form.
        var ex = Assert.Throws<UriFormatException>(() => AmqpConnectionOptions.Parse("amqp://u:s3cr3t%2Dpw@h:0/vh"));

        Assert.DoesNotContain("s3cr3t", ex.Message, StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- masking, formatting

    [Fact]
    public void ToString_MasksPassword()
    {
        var o = AmqpConnectionOptions.Parse($"amqp://u:{Secret}@h1:5672,[::1]:5673/vh");

        string s = o.ToString();

        Assert.DoesNotContain(Secret, s, StringComparison.Ordinal);
        Assert.Equal("amqp://u:***@h1:5672,[::1]:5673/vh", s);
    }

    [Fact]
    public void ToString_OfDefaults_MasksPasswordAndEncodesRootVhost()
    {
        var o = new AmqpConnectionOptions { Password = Secret };

        Assert.Equal("amqp://guest:***@localhost:5672/%2F", o.ToString());
    }

    [Fact]
    public void ToString_Amqps()
    {
        Assert.Equal("amqps://guest:***@h:5671/%2F", AmqpConnectionOptions.Parse("amqps://h").ToString());
    }

    [Fact]
    public void Format_Unmasked_RoundTrips()
    {
        var o = AmqpConnectionOptions.Parse("amqps://us%40er:p%40ss%3Aw%2F%3F@h1,[::1]:5673/my%2Fvh");

        string formatted = AmqpUri.Format(o, maskPassword: false);
        var back = AmqpConnectionOptions.Parse(formatted);

        Assert.Equal(o.UserName, back.UserName);
        Assert.Equal("p@ss:w/?", back.Password);
        Assert.Equal(o.VirtualHost, back.VirtualHost);
        Assert.Equal(o.Endpoints, back.Endpoints);
        Assert.True(back.UseTls);
    }

    [Theory]
    [InlineData("amqp://u:pw@h/vh", "amqp://u:***@h/vh")]
    [InlineData("amqp://u:p:w@h/vh", "amqp://u:***@h/vh")]
    [InlineData("amqp://u:p@w@h/vh", "amqp://u:***@h/vh")]
    [InlineData("amqp://bob@h:5672/vh", "amqp://bob@h:5672/vh")]
    [InlineData("amqp://h:5672/vh", "amqp://h:5672/vh")]
    [InlineData("u:pw@h", "u:***@h")]
    [InlineData("amqp://u:p/w@h/vh", "amqp://u:***@h/vh")]
    [InlineData("amqp:/u:pw@h", "amqp:***@h")]
    public void Mask_HidesPassword(string uri, string expected)
    {
        Assert.Equal(expected, AmqpUri.Mask(uri));
    }

    private static void AssertNoSecret(Exception ex)
    {
        Assert.DoesNotContain(Secret, ex.Message, StringComparison.Ordinal);

        // Nor a recognisable piece of it (a malformed URI can split the password).
        Assert.DoesNotContain("s3cr3t", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("3t-pw", ex.Message, StringComparison.Ordinal);
    }
}
