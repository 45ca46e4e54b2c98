namespace Nucleon.Pipes.Tests.Infrastructure;

/// <summary>
/// A client connection as the cluster lists it: the <paramref name="Node"/> (Erlang node name) whose AMQP
/// listener accepted it, its <paramref name="Pid"/> (for <c>close_connection</c>) and the client-provided
/// name (<c>connection_name</c> client property, empty when the client gave none).
/// </summary>
public sealed record ClusterConnection(string Node, string Pid, string ClientProvidedName);
