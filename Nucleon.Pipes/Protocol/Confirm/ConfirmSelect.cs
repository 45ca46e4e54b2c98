using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 85, confirm (RabbitMQ extension: publisher confirms).

/// <summary>confirm.select (85, 10).</summary>
internal readonly record struct ConfirmSelect(bool NoWait) : IAmqpMethod<ConfirmSelect>
{
    public static ushort ClassId => 85;
    public static ushort MethodId => 10;

    public int GetArgumentsSize() => 1;

    public void EncodeArguments(ref AmqpEncoder encoder) => encoder.WriteBits(NoWait);

    public static ConfirmSelect DecodeArguments(ref AmqpDecoder decoder) => new((decoder.ReadOctet() & 1) != 0);
}
