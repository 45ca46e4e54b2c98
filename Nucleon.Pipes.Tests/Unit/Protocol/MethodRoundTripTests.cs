using Nucleon.Pipes.Protocol;
using static Nucleon.Pipes.Tests.Unit.Protocol.CodecTestHelpers;

namespace Nucleon.Pipes.Tests.Unit.Protocol;

/// <summary>
/// Every AMQP method survives WriteMethodFrame → FrameReader → MethodFrame.Decode. Tables are empty here
/// (the table codec has its own tests); dictionaries and byte arrays are compared by content, then
/// swapped back with <c>with</c> so record equality checks every remaining field.
/// </summary>
public class MethodRoundTripTests
{
    private static Dictionary<string, object?> EmptyTable() => [];

    private static void AssertSame<T>(T expected) where T : struct, IAmqpMethod<T>, IEquatable<T> =>
        Assert.Equal(expected, RoundTrip(expected));

    // connection

    [Fact]
    public void ConnectionStart()
    {
        var m = new ConnectionStart(0, 9, EmptyTable(), "PLAIN AMQPLAIN EXTERNAL", "en_US");
        var d = RoundTrip(m);
        Assert.Empty(d.ServerProperties!);
        Assert.Equal(m, d with { ServerProperties = m.ServerProperties });
    }

    [Fact]
    public void ConnectionStart_NullTableDecodesAsEmpty()
    {
        var d = RoundTrip(new ConnectionStart(0, 9, null, "PLAIN", "en_US"));
        Assert.NotNull(d.ServerProperties);
        Assert.Empty(d.ServerProperties);
    }

    [Fact]
    public void ConnectionStartOk()
    {
        var m = new ConnectionStartOk(EmptyTable(), "PLAIN", [0, (byte)'g', (byte)'u', 0, 0xFF, 0x80], "en_US");
        var d = RoundTrip(m);
        Assert.Empty(d.ClientProperties!);
        Assert.Equal(m.Response, d.Response);
        Assert.Equal(m, d with { ClientProperties = m.ClientProperties, Response = m.Response });
    }

    [Fact]
    public void ConnectionSecure()
    {
        var m = new ConnectionSecure([1, 2, 3, 0xFE]);
        Assert.Equal(m.Challenge, RoundTrip(m).Challenge);
    }

    [Fact]
    public void ConnectionSecureOk()
    {
        var m = new ConnectionSecureOk([]);
        Assert.Empty(RoundTrip(m).Response);
        Assert.Equal(new byte[] { 9, 8 }, RoundTrip(new ConnectionSecureOk([9, 8])).Response);
    }

    [Fact]
    public void ConnectionTune() => AssertSame(new ConnectionTune(2047, 131072, 60));

    [Fact]
    public void ConnectionTuneOk() => AssertSame(new ConnectionTuneOk(ushort.MaxValue, uint.MaxValue, 0));

    [Fact]
    public void ConnectionOpen() => AssertSame(new ConnectionOpen("/vhost-é"));

    [Fact]
    public void ConnectionOpenOk() => AssertSame(new ConnectionOpenOk());

    [Fact]
    public void ConnectionClose() => AssertSame(new ConnectionClose(320, "CONNECTION_FORCED - broker forced connection closure", 0, 0));

    [Fact]
    public void ConnectionCloseOk() => AssertSame(new ConnectionCloseOk());

    [Fact]
    public void ConnectionBlocked() => AssertSame(new ConnectionBlocked("low on memory"));

    [Fact]
    public void ConnectionUnblocked() => AssertSame(new ConnectionUnblocked());

    [Fact]
    public void ConnectionUpdateSecret()
    {
        var m = new ConnectionUpdateSecret("eyJhbGciOi.token"u8.ToArray(), "token refresh");
        var d = RoundTrip(m);
        Assert.Equal(m.NewSecret, d.NewSecret);
        Assert.Equal(m, d with { NewSecret = m.NewSecret });
    }

    [Fact]
    public void ConnectionUpdateSecretOk() => AssertSame(new ConnectionUpdateSecretOk());

    // channel

    [Fact]
    public void ChannelOpen() => AssertSame(new ChannelOpen());

    [Fact]
    public void ChannelOpenOk() => AssertSame(new ChannelOpenOk());

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ChannelFlow(bool active) => AssertSame(new ChannelFlow(active));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ChannelFlowOk(bool active) => AssertSame(new ChannelFlowOk(active));

    [Fact]
    public void ChannelClose() => AssertSame(new ChannelClose(404, "NOT_FOUND - no queue 'q'", 50, 10));

    [Fact]
    public void ChannelCloseOk() => AssertSame(new ChannelCloseOk());

    // exchange

    [Theory]
    [InlineData(true, false, false, false, false)]
    [InlineData(false, true, false, false, false)]
    [InlineData(false, false, true, false, false)]
    [InlineData(false, false, false, true, false)]
    [InlineData(false, false, false, false, true)]
    [InlineData(true, true, true, true, true)]
    public void ExchangeDeclare(bool passive, bool durable, bool autoDelete, bool @internal, bool noWait)
    {
        var m = new ExchangeDeclare("orders", "topic", passive, durable, autoDelete, @internal, noWait, EmptyTable());
        var d = RoundTrip(m);
        Assert.Empty(d.Arguments!);
        Assert.Equal(m, d with { Arguments = m.Arguments });
    }

    [Fact]
    public void ExchangeDeclareOk() => AssertSame(new ExchangeDeclareOk());

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void ExchangeDelete(bool ifUnused, bool noWait) => AssertSame(new ExchangeDelete("orders", ifUnused, noWait));

    [Fact]
    public void ExchangeDeleteOk() => AssertSame(new ExchangeDeleteOk());

    [Fact]
    public void ExchangeBind()
    {
        var m = new ExchangeBind("dest", "src", "a.b.#", true, EmptyTable());
        var d = RoundTrip(m);
        Assert.Empty(d.Arguments!);
        Assert.Equal(m, d with { Arguments = m.Arguments });
    }

    [Fact]
    public void ExchangeBindOk() => AssertSame(new ExchangeBindOk());

    [Fact]
    public void ExchangeUnbind()
    {
        var m = new ExchangeUnbind("dest", "src", "a.b.#", false, EmptyTable());
        var d = RoundTrip(m);
        Assert.Empty(d.Arguments!);
        Assert.Equal(m, d with { Arguments = m.Arguments });
    }

    [Fact]
    public void ExchangeUnbindOk() => AssertSame(new ExchangeUnbindOk());

    // queue

    [Theory]
    [InlineData(true, false, false, false, false)]
    [InlineData(false, true, false, false, false)]
    [InlineData(false, false, true, false, false)]
    [InlineData(false, false, false, true, false)]
    [InlineData(false, false, false, false, true)]
    public void QueueDeclare(bool passive, bool durable, bool exclusive, bool autoDelete, bool noWait)
    {
        var m = new QueueDeclare("", passive, durable, exclusive, autoDelete, noWait, EmptyTable());
        var d = RoundTrip(m);
        Assert.Empty(d.Arguments!);
        Assert.Equal(m, d with { Arguments = m.Arguments });
    }

    [Fact]
    public void QueueDeclareOk() => AssertSame(new QueueDeclareOk("amq.gen-JzTY20BRgKO-HjmUJj0wLg", 12, 3));

    [Fact]
    public void QueueBind()
    {
        var m = new QueueBind("q", "amq.topic", "#", true, EmptyTable());
        var d = RoundTrip(m);
        Assert.Empty(d.Arguments!);
        Assert.Equal(m, d with { Arguments = m.Arguments });
    }

    [Fact]
    public void QueueBindOk() => AssertSame(new QueueBindOk());

    [Fact]
    public void QueuePurge() => AssertSame(new QueuePurge("q", true));

    [Fact]
    public void QueuePurgeOk() => AssertSame(new QueuePurgeOk(uint.MaxValue));

    [Theory]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(false, false, true)]
    public void QueueDelete(bool ifUnused, bool ifEmpty, bool noWait) => AssertSame(new QueueDelete("q", ifUnused, ifEmpty, noWait));

    [Fact]
    public void QueueDeleteOk() => AssertSame(new QueueDeleteOk(42));

    [Fact]
    public void QueueUnbind()
    {
        var m = new QueueUnbind("q", "amq.direct", "rk", EmptyTable());
        var d = RoundTrip(m);
        Assert.Empty(d.Arguments!);
        Assert.Equal(m, d with { Arguments = m.Arguments });
    }

    [Fact]
    public void QueueUnbindOk() => AssertSame(new QueueUnbindOk());

    // basic

    [Fact]
    public void BasicQos() => AssertSame(new BasicQos(0, 250, true));

    [Fact]
    public void BasicQosOk() => AssertSame(new BasicQosOk());

    [Theory]
    [InlineData(true, false, false, false)]
    [InlineData(false, true, false, false)]
    [InlineData(false, false, true, false)]
    [InlineData(false, false, false, true)]
    public void BasicConsume(bool noLocal, bool noAck, bool exclusive, bool noWait)
    {
        var m = new BasicConsume("q", "ctag-1", noLocal, noAck, exclusive, noWait, EmptyTable());
        var d = RoundTrip(m);
        Assert.Empty(d.Arguments!);
        Assert.Equal(m, d with { Arguments = m.Arguments });
    }

    [Fact]
    public void BasicConsumeOk() => AssertSame(new BasicConsumeOk("amq.ctag-abc"));

    [Fact]
    public void BasicCancel() => AssertSame(new BasicCancel("ctag-1", true));

    [Fact]
    public void BasicCancelOk() => AssertSame(new BasicCancelOk("ctag-1"));

    [Fact]
    public void BasicPublish()
    {
        AssertSame(new BasicPublish("", "q", true, false));
        AssertSame(new BasicPublish("amq.topic", "a.b", false, true));
        Assert.True(IsContent<BasicPublish>());
    }

    [Fact]
    public void BasicReturn()
    {
        AssertSame(new BasicReturn(312, "NO_ROUTE", "amq.direct", "nowhere"));
        Assert.True(IsContent<BasicReturn>());
    }

    [Fact]
    public void BasicDeliver()
    {
        AssertSame(new BasicDeliver("ctag-1", ulong.MaxValue, true, "ex", "rk"));
        Assert.True(IsContent<BasicDeliver>());
    }

    [Fact]
    public void BasicGet() => AssertSame(new BasicGet("q", true));

    [Fact]
    public void BasicGetOk()
    {
        AssertSame(new BasicGetOk(17, true, "", "q", 99));
        Assert.True(IsContent<BasicGetOk>());
    }

    [Fact]
    public void BasicGetEmpty() => AssertSame(new BasicGetEmpty());

    [Fact]
    public void BasicAck() => AssertSame(new BasicAck(123456789012, true));

    [Fact]
    public void BasicReject() => AssertSame(new BasicReject(5, true));

    [Fact]
    public void BasicRecoverAsync() => AssertSame(new BasicRecoverAsync(true));

    [Fact]
    public void BasicRecover() => AssertSame(new BasicRecover(true));

    [Fact]
    public void BasicRecoverOk() => AssertSame(new BasicRecoverOk());

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void BasicNack(bool multiple, bool requeue) => AssertSame(new BasicNack(7, multiple, requeue));

    // confirm, tx

    [Fact]
    public void ConfirmSelect() => AssertSame(new ConfirmSelect(true));

    [Fact]
    public void ConfirmSelectOk() => AssertSame(new ConfirmSelectOk());

    [Fact]
    public void Tx()
    {
        AssertSame(new TxSelect());
        AssertSame(new TxSelectOk());
        AssertSame(new TxCommit());
        AssertSame(new TxCommitOk());
        AssertSame(new TxRollback());
        AssertSame(new TxRollbackOk());
    }

    [Fact]
    public void OnlyContentMethodsHaveContent()
    {
        Assert.False(IsContent<BasicAck>());
        Assert.False(IsContent<BasicGet>());
        Assert.False(IsContent<QueueDeclare>());
        Assert.False(IsContent<ConnectionStart>());
    }

    [Fact]
    public void EmptyStringsRoundTripAsEmpty()
    {
        var d = RoundTrip(new BasicDeliver("", 0, false, "", ""));
        Assert.Equal(string.Empty, d.ConsumerTag);
        Assert.Equal(string.Empty, d.Exchange);
    }

    private static bool IsContent<T>() where T : struct, IAmqpMethod<T> => T.HasContent;
}
