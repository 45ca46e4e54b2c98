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

/// <summary>tx.select-ok (90, 11).</summary>
internal readonly record struct TxSelectOk : IAmqpMethod<TxSelectOk>
{
    public static ushort ClassId => 90;
    public static ushort MethodId => 11;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static TxSelectOk DecodeArguments(ref AmqpDecoder decoder) => default;
}

/// <summary>tx.commit (90, 20).</summary>
internal readonly record struct TxCommit : IAmqpMethod<TxCommit>
{
    public static ushort ClassId => 90;
    public static ushort MethodId => 20;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static TxCommit DecodeArguments(ref AmqpDecoder decoder) => default;
}

/// <summary>tx.commit-ok (90, 21).</summary>
internal readonly record struct TxCommitOk : IAmqpMethod<TxCommitOk>
{
    public static ushort ClassId => 90;
    public static ushort MethodId => 21;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static TxCommitOk DecodeArguments(ref AmqpDecoder decoder) => default;
}

/// <summary>tx.rollback (90, 30).</summary>
internal readonly record struct TxRollback : IAmqpMethod<TxRollback>
{
    public static ushort ClassId => 90;
    public static ushort MethodId => 30;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static TxRollback DecodeArguments(ref AmqpDecoder decoder) => default;
}

/// <summary>tx.rollback-ok (90, 31).</summary>
internal readonly record struct TxRollbackOk : IAmqpMethod<TxRollbackOk>
{
    public static ushort ClassId => 90;
    public static ushort MethodId => 31;

    public int GetArgumentsSize() => 0;

    public void EncodeArguments(ref AmqpEncoder encoder) { }

    public static TxRollbackOk DecodeArguments(ref AmqpDecoder decoder) => default;
}
