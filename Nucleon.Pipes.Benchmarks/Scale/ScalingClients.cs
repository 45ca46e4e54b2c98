using Nucleon.Pipes.Benchmarks.E2E;
using RabbitMQ.Client;

namespace Nucleon.Pipes.Benchmarks.Scale;

/// <summary>
/// One client's publishers for the scaling runs: <c>connections × channelsPerConnection</c> channels without
/// confirms, numbered 0 to Count - 1 (channel i on connection i / channelsPerConnection).
/// </summary>
internal interface IScalingClient : IAsyncDisposable
{
    string Name { get; }

    int Count { get; }

    Task OpenAsync(string uri, int connections, int channelsPerConnection);

    /// <summary>One 32-byte publish on channel <paramref name="channel"/> to the default exchange.</summary>
    ValueTask PublishAsync(int channel, string routingKey);

    /// <summary>A round trip on the channel (passive queue.declare): every earlier publish on it has reached the server.</summary>
    Task RoundTripAsync(int channel);
}

internal sealed class NucleonScalingClient : IScalingClient
{
    private readonly List<AmqpConnection> _connections = [];
    private readonly List<MessageChannel> _channels = [];

    public string Name => "Nucleon.Pipes";

    public int Count => _channels.Count;

    public async Task OpenAsync(string uri, int connections, int channelsPerConnection)
    {
        for (int c = 0; c < connections; c++)
        {
            var conn = new AmqpConnection(uri);
            _connections.Add(conn);
            await conn.ConnectAsync();
            for (int i = 0; i < channelsPerConnection; i++)
            {
                _channels.Add(await conn.AllocateChannelAsync());
            }
        }
    }

    public ValueTask PublishAsync(int channel, string routingKey) => _channels[channel].PublishAsync("", routingKey, BenchContext.Body32);

    public Task RoundTripAsync(int channel) => _channels[channel].QueueDeclareAsync(BenchContext.PublishQueue, passive: true);

    public async ValueTask DisposeAsync()
    {
        foreach (var conn in _connections)
        {
            await conn.CloseAsync();
            await conn.DisposeAsync();
        }
    }
}

internal sealed class RabbitScalingClient : IScalingClient
{
    private readonly List<IConnection> _connections = [];
    private readonly List<IChannel> _channels = [];

    public string Name => "RabbitMQ.Client";

    public int Count => _channels.Count;

    public async Task OpenAsync(string uri, int connections, int channelsPerConnection)
    {
        var factory = new ConnectionFactory { Uri = new Uri(uri) };
        for (int c = 0; c < connections; c++)
        {
            var conn = await factory.CreateConnectionAsync();
            _connections.Add(conn);
            for (int i = 0; i < channelsPerConnection; i++)
            {
                _channels.Add(await conn.CreateChannelAsync());
            }
        }
    }

    public ValueTask PublishAsync(int channel, string routingKey) => _channels[channel].BasicPublishAsync("", routingKey, BenchContext.Body32);

    public Task RoundTripAsync(int channel) => _channels[channel].QueueDeclarePassiveAsync(BenchContext.PublishQueue);

    public async ValueTask DisposeAsync()
    {
        foreach (var conn in _connections)
        {
            await conn.CloseAsync();
            await conn.DisposeAsync();
        }
    }
}
