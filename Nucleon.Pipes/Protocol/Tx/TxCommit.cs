using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 90, tx (spec 1.9.2.x). None of its methods has arguments.

/// <summary>tx.commit (90, 20).</summary>
internal readonly record struct TxCommit : IAmqpMethod<TxCommit>
{
    public static ushort ClassId => 90;
    public static ushort MethodId => 20;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static TxCommit DecodeArguments(ref AmqpDecoder decoder) => default;
}
