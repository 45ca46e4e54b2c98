using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

// Class 85, confirm (RabbitMQ extension: publisher confirms).

/// <summary>confirm.select-ok (85, 11).</summary>
internal readonly record struct ConfirmSelectOk : IAmqpMethod<ConfirmSelectOk>
{
    public static ushort ClassId => 85;
    public static ushort MethodId => 11;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static ConfirmSelectOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
