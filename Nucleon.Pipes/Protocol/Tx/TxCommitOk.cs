using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 90, tx (spec 1.9.2.x). None of its methods has arguments.

/// <summary>tx.commit-ok (90, 21).</summary>
internal readonly record struct TxCommitOk : IAmqpMethod<TxCommitOk>
{
    public static ushort ClassId => 90;
    public static ushort MethodId => 21;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static TxCommitOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
