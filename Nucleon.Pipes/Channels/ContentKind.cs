namespace Nucleon.Pipes.Channels;

/// <summary>Which method a message's content frames belong to.</summary>
internal enum ContentKind : byte
{
    /// <summary>No content expected.</summary>
    None,

    /// <summary>basic.deliver: for a consumer.</summary>
    Deliver,

    /// <summary>basic.return: a mandatory message that could not be routed.</summary>
    Return,

    /// <summary>basic.get-ok: for the waiting get.</summary>
    GetOk,
}
