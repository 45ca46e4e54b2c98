using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 90, tx (spec 1.9.2.x). None of its methods has arguments.

/// <summary>tx.select-ok (90, 11).</summary>
internal readonly record struct TxSelectOk : IAmqpMethod<TxSelectOk>
{
    public static ushort ClassId => 90;
    public static ushort MethodId => 11;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static TxSelectOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
