namespace Nucleon.Pipes.Connection;

/// <summary>Where a connection generation is with its on-connect hooks; decides what a channel request made from a hook gets.</summary>
internal enum HookPhase
{
    /// <summary>The hooks have not started yet.</summary>
    NotStarted,

    /// <summary>The hooks run; channel requests from them are served by this session (the gate is still closed).</summary>
    Running,

    /// <summary>The connection was lost while the hooks ran and the supervisor moved on; channel requests from them fail at once.</summary>
    Abandoned,

    /// <summary>The hooks are over (done, failed, or abandoned and since returned); requests go through the gate like any other.</summary>
    Ended,
}
