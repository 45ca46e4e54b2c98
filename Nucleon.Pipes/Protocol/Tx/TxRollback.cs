using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 90, tx (spec 1.9.2.x). None of its methods has arguments.

/// <summary>tx.rollback (90, 30).</summary>
internal readonly record struct TxRollback : IAmqpMethod<TxRollback>
{
    public static ushort ClassId => 90;
    public static ushort MethodId => 30;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static TxRollback DecodeArguments(ref AmqpDecoder decoder) => default;
}
