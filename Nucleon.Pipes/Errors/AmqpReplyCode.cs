namespace Nucleon.Pipes;

/// <summary>Reply codes of AMQP 0-9-1 (spec section 1.9) that a broker or this client may send.</summary>
public static class AmqpReplyCode
{
    /// <summary>200: the method completed normally.</summary>
    public const ushort Success = 200;
    /// <summary>311: the message was too large (channel error).</summary>
    public const ushort ContentTooLarge = 311;
    /// <summary>312: a mandatory message could not be routed to any queue.</summary>
    public const ushort NoRoute = 312;
    /// <summary>313: an immediate message found no consumer.</summary>
    public const ushort NoConsumers = 313;
    /// <summary>320: an operator closed the connection (or the node shut down).</summary>
    public const ushort ConnectionForced = 320;
    /// <summary>402: the virtual host path is invalid.</summary>
    public const ushort InvalidPath = 402;
    /// <summary>403: access refused (permissions, or a failed login).</summary>
    public const ushort AccessRefused = 403;
    /// <summary>404: the exchange or queue does not exist.</summary>
    public const ushort NotFound = 404;
    /// <summary>405: an exclusive resource is locked by another connection.</summary>
    public const ushort ResourceLocked = 405;
    /// <summary>406: a precondition failed, e.g. an inequivalent redeclare or an unknown delivery tag.</summary>
    public const ushort PreconditionFailed = 406;
    /// <summary>501: a malformed frame.</summary>
    public const ushort FrameError = 501;
    /// <summary>502: a frame with invalid field values.</summary>
    public const ushort SyntaxError = 502;
    /// <summary>503: an invalid sequence of frames.</summary>
    public const ushort CommandInvalid = 503;
    /// <summary>504: a method on a channel that is not open.</summary>
    public const ushort ChannelError = 504;
    /// <summary>505: a frame that was not expected at this point.</summary>
    public const ushort UnexpectedFrame = 505;
    /// <summary>506: the server ran out of a resource.</summary>
    public const ushort ResourceError = 506;
    /// <summary>530: the operation is not allowed (e.g. the virtual host does not exist).</summary>
    public const ushort NotAllowed = 530;
    /// <summary>540: the peer does not implement this functionality.</summary>
    public const ushort NotImplemented = 540;
    /// <summary>541: an internal error.</summary>
    public const ushort InternalError = 541;
}
