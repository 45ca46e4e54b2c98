namespace Nucleon.Pipes.Worker;

/// <summary>Counts handled messages and stops the host when the last one is done.</summary>
internal sealed class Progress(Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime, Microsoft.Extensions.Options.IOptions<WorkerSettings> settings)
{
    private int _handled;

    public int Handled => Volatile.Read(ref _handled);

    public void OneHandled()
    {
        if (Interlocked.Increment(ref _handled) == settings.Value.Messages)
        {
            lifetime.StopApplication();
        }
    }
}
