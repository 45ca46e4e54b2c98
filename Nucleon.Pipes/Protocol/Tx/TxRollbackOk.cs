using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 90, tx (spec 1.9.2.x). None of its methods has arguments.

/// <summary>tx.rollback-ok (90, 31).</summary>
internal readonly record struct TxRollbackOk : IAmqpMethod<TxRollbackOk>
{
    public static ushort ClassId => 90;
    public static ushort MethodId => 31;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static TxRollbackOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
