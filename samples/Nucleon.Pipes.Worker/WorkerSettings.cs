namespace Nucleon.Pipes.Worker;

/// <summary>The sample's own settings (section "Worker" of appsettings.json).</summary>
internal sealed class WorkerSettings
{
    /// <summary>The queue the publisher fills and the consumer drains.</summary>
    public string Queue { get; set; } = "worker.orders";

    /// <summary>How many messages to publish; the host stops once all were handled.</summary>
    public int Messages { get; set; } = 1000;

    /// <summary>Handlers running at once.</summary>
    public int Concurrency { get; set; } = 8;
}
