using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 90, tx (spec 1.9.2.x). None of its methods has arguments.

/// <summary>tx.select (90, 10).</summary>
internal readonly record struct TxSelect : IAmqpMethod<TxSelect>
{
    public static ushort ClassId => 90;
    public static ushort MethodId => 10;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static TxSelect DecodeArguments(ref AmqpDecoder decoder) => default;
}
