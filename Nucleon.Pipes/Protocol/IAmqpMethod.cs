using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Protocol;

/// <summary>
/// One AMQP 0-9-1 method: a struct that knows its ids, its encoded size and how to encode and
/// decode its arguments. Static abstract members let the framing code stay generic without boxing.
/// </summary>
internal interface IAmqpMethod<TSelf> where TSelf : struct, IAmqpMethod<TSelf>
{
    /// <summary>The class id (10 connection, 20 channel, 40 exchange, 50 queue, 60 basic, 85 confirm, 90 tx).</summary>
    static abstract ushort ClassId { get; }

    /// <summary>The method id within the class.</summary>
    static abstract ushort MethodId { get; }

    /// <summary>True for methods followed by a content header and body (basic.publish, deliver, return, get-ok).</summary>
    static virtual bool HasContent => false;

    /// <summary>Size in bytes of the arguments (without the 4 bytes of class and method id).</summary>
    int GetArgumentsSize();

    /// <summary>Writes the arguments (without class and method id).</summary>
    void EncodeArguments(ref AmqpEncoder encoder);

    /// <summary>Reads the arguments (the decoder is positioned after class and method id).</summary>
    static abstract TSelf DecodeArguments(ref AmqpDecoder decoder);
}
