using Nucleon.Pipes.Protocol;

namespace Nucleon.Pipes.Tests.Unit.Protocol;

/// <summary>The ids each method struct declares agree with <see cref="MethodIds"/> and <see cref="MethodNames"/>.</summary>
public class MethodIdsTests
{
    private static int s_checked;

    private static void Check<T>(uint constant, string name) where T : struct, IAmqpMethod<T>
    {
        Assert.Equal(constant, MethodIds.Key(T.ClassId, T.MethodId));
        Assert.Equal(name, MethodNames.Name(T.ClassId, T.MethodId));
        Interlocked.Increment(ref s_checked);
    }

    [Fact]
    public void EveryMethodStructMatchesItsIdConstantAndName()
    {
        s_checked = 0;
        Check<ConnectionStart>(MethodIds.ConnectionStart, "connection.start");
        Check<ConnectionStartOk>(MethodIds.ConnectionStartOk, "connection.start-ok");
        Check<ConnectionSecure>(MethodIds.ConnectionSecure, "connection.secure");
        Check<ConnectionSecureOk>(MethodIds.ConnectionSecureOk, "connection.secure-ok");
        Check<ConnectionTune>(MethodIds.ConnectionTune, "connection.tune");
        Check<ConnectionTuneOk>(MethodIds.ConnectionTuneOk, "connection.tune-ok");
        Check<ConnectionOpen>(MethodIds.ConnectionOpen, "connection.open");
        Check<ConnectionOpenOk>(MethodIds.ConnectionOpenOk, "connection.open-ok");
        Check<ConnectionClose>(MethodIds.ConnectionClose, "connection.close");
        Check<ConnectionCloseOk>(MethodIds.ConnectionCloseOk, "connection.close-ok");
        Check<ConnectionBlocked>(MethodIds.ConnectionBlocked, "connection.blocked");
        Check<ConnectionUnblocked>(MethodIds.ConnectionUnblocked, "connection.unblocked");
        Check<ConnectionUpdateSecret>(MethodIds.ConnectionUpdateSecret, "connection.update-secret");
        Check<ConnectionUpdateSecretOk>(MethodIds.ConnectionUpdateSecretOk, "connection.update-secret-ok");
        Check<ChannelOpen>(MethodIds.ChannelOpen, "channel.open");
        Check<ChannelOpenOk>(MethodIds.ChannelOpenOk, "channel.open-ok");
        Check<ChannelFlow>(MethodIds.ChannelFlow, "channel.flow");
        Check<ChannelFlowOk>(MethodIds.ChannelFlowOk, "channel.flow-ok");
        Check<ChannelClose>(MethodIds.ChannelClose, "channel.close");
        Check<ChannelCloseOk>(MethodIds.ChannelCloseOk, "channel.close-ok");
        Check<ExchangeDeclare>(MethodIds.ExchangeDeclare, "exchange.declare");
        Check<ExchangeDeclareOk>(MethodIds.ExchangeDeclareOk, "exchange.declare-ok");
        Check<ExchangeDelete>(MethodIds.ExchangeDelete, "exchange.delete");
        Check<ExchangeDeleteOk>(MethodIds.ExchangeDeleteOk, "exchange.delete-ok");
        Check<ExchangeBind>(MethodIds.ExchangeBind, "exchange.bind");
        Check<ExchangeBindOk>(MethodIds.ExchangeBindOk, "exchange.bind-ok");
        Check<ExchangeUnbind>(MethodIds.ExchangeUnbind, "exchange.unbind");
        Check<ExchangeUnbindOk>(MethodIds.ExchangeUnbindOk, "exchange.unbind-ok");
        Check<QueueDeclare>(MethodIds.QueueDeclare, "queue.declare");
        Check<QueueDeclareOk>(MethodIds.QueueDeclareOk, "queue.declare-ok");
        Check<QueueBind>(MethodIds.QueueBind, "queue.bind");
        Check<QueueBindOk>(MethodIds.QueueBindOk, "queue.bind-ok");
        Check<QueuePurge>(MethodIds.QueuePurge, "queue.purge");
        Check<QueuePurgeOk>(MethodIds.QueuePurgeOk, "queue.purge-ok");
        Check<QueueDelete>(MethodIds.QueueDelete, "queue.delete");
        Check<QueueDeleteOk>(MethodIds.QueueDeleteOk, "queue.delete-ok");
        Check<QueueUnbind>(MethodIds.QueueUnbind, "queue.unbind");
        Check<QueueUnbindOk>(MethodIds.QueueUnbindOk, "queue.unbind-ok");
        Check<BasicQos>(MethodIds.BasicQos, "basic.qos");
        Check<BasicQosOk>(MethodIds.BasicQosOk, "basic.qos-ok");
        Check<BasicConsume>(MethodIds.BasicConsume, "basic.consume");
        Check<BasicConsumeOk>(MethodIds.BasicConsumeOk, "basic.consume-ok");
        Check<BasicCancel>(MethodIds.BasicCancel, "basic.cancel");
        Check<BasicCancelOk>(MethodIds.BasicCancelOk, "basic.cancel-ok");
        Check<BasicPublish>(MethodIds.BasicPublish, "basic.publish");
        Check<BasicReturn>(MethodIds.BasicReturn, "basic.return");
        Check<BasicDeliver>(MethodIds.BasicDeliver, "basic.deliver");
        Check<BasicGet>(MethodIds.BasicGet, "basic.get");
        Check<BasicGetOk>(MethodIds.BasicGetOk, "basic.get-ok");
        Check<BasicGetEmpty>(MethodIds.BasicGetEmpty, "basic.get-empty");
        Check<BasicAck>(MethodIds.BasicAck, "basic.ack");
        Check<BasicReject>(MethodIds.BasicReject, "basic.reject");
        Check<BasicRecoverAsync>(MethodIds.BasicRecoverAsync, "basic.recover-async");
        Check<BasicRecover>(MethodIds.BasicRecover, "basic.recover");
        Check<BasicRecoverOk>(MethodIds.BasicRecoverOk, "basic.recover-ok");
        Check<BasicNack>(MethodIds.BasicNack, "basic.nack");
        Check<ConfirmSelect>(MethodIds.ConfirmSelect, "confirm.select");
        Check<ConfirmSelectOk>(MethodIds.ConfirmSelectOk, "confirm.select-ok");
        Check<TxSelect>(MethodIds.TxSelect, "tx.select");
        Check<TxSelectOk>(MethodIds.TxSelectOk, "tx.select-ok");
        Check<TxCommit>(MethodIds.TxCommit, "tx.commit");
        Check<TxCommitOk>(MethodIds.TxCommitOk, "tx.commit-ok");
        Check<TxRollback>(MethodIds.TxRollback, "tx.rollback");
        Check<TxRollbackOk>(MethodIds.TxRollbackOk, "tx.rollback-ok");
        Assert.Equal(64, s_checked);
    }

    // Ids written out from the spec (and RabbitMQ's extensions), independently of the code.
    [Theory]
    [InlineData(10, 10, "connection.start")]
    [InlineData(10, 71, "connection.update-secret-ok")]
    [InlineData(20, 41, "channel.close-ok")]
    [InlineData(40, 30, "exchange.bind")]
    [InlineData(40, 40, "exchange.unbind")]
    [InlineData(40, 51, "exchange.unbind-ok")]
    [InlineData(50, 50, "queue.unbind")]
    [InlineData(60, 100, "basic.recover-async")]
    [InlineData(60, 120, "basic.nack")]
    [InlineData(85, 11, "confirm.select-ok")]
    [InlineData(90, 31, "tx.rollback-ok")]
    public void NameOfKnownMethod(ushort classId, ushort methodId, string expected) =>
        Assert.Equal(expected, MethodNames.Name(classId, methodId));

    [Theory]
    [InlineData(50, 99, "method 50.99")]
    [InlineData(40, 41, "method 40.41")]
    [InlineData(0, 0, "method 0.0")]
    public void NameOfUnknownMethod(ushort classId, ushort methodId, string expected) =>
        Assert.Equal(expected, MethodNames.Name(classId, methodId));

    [Fact]
    public void KnownNamesAreLiterals() => Assert.Same(MethodNames.Name(50, 10), MethodNames.Name(50, 10));

    [Fact]
    public void KeyPacksClassIntoHighHalf() => Assert.Equal((50u << 16) | 10, MethodIds.QueueDeclare);
}
