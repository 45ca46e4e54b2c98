using Nucleon.Pipes;
using Nucleon.Pipes.Framing;
using Nucleon.Pipes.Fuzzing;
using Nucleon.Pipes.Protocol;
using SharpFuzz;

// SharpFuzz harness for the frame decoder (run by scripts/fuzz.sh under AFL++).
//   dotnet Nucleon.Pipes.Fuzz.dll                 fuzz: AFL feeds inputs through stdin/shared memory
//   dotnet Nucleon.Pipes.Fuzz.dll --corpus DIR    write the seed corpus (valid frames) into DIR
//   dotnet Nucleon.Pipes.Fuzz.dll --run FILE...   decode the given inputs once (to replay a crash)
// Any exception other than AmqpProtocolException escapes and is reported by AFL as a crash.
if (args is ["--corpus", var directory])
{
    Directory.CreateDirectory(directory);
    foreach (var (name, bytes) in Seeds.All())
    {
        File.WriteAllBytes(Path.Combine(directory, name), bytes);
    }

    return;
}

if (args is ["--run", .. var files])
{
    foreach (string file in files)
    {
        FrameDecodeTarget.DecodeAll(File.ReadAllBytes(file));
        Console.WriteLine($"{file}: ok");
    }

    return;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var memory = new MemoryStream();
    stream.CopyTo(memory);
    FrameDecodeTarget.DecodeAll(memory.GetBuffer().AsSpan(0, (int)memory.Length));
});

internal static class Seeds
{
    public static IEnumerable<(string Name, byte[] Bytes)> All()
    {
        var headers = new Dictionary<string, object?>
        {
            ["s"] = "text",
            ["i"] = 42,
            ["d"] = 1.5m,
            ["t"] = new AmqpTimestamp(1_700_000_000),
            ["x"] = new byte[] { 1, 2, 3 },
            ["a"] = new List<object?> { 1, "two", null, new Dictionary<string, object?> { ["n"] = true } },
        };
        var properties = new BasicProperties
        {
            ContentType = "application/json",
            Headers = headers,
            DeliveryMode = DeliveryMode.Persistent,
            Priority = 3,
            CorrelationId = "c-1",
            Timestamp = new AmqpTimestamp(1),
        };
        byte[] header = new byte[FrameWriter.ContentHeaderFrameSize(properties)];
        FrameWriter.WriteContentHeaderFrame(header, 1, 5, properties);
        byte[] body = new byte[FrameWriter.BodyFramesSize(5, 131_072)];
        FrameWriter.WriteBodyFrames(body, 1, "hello"u8, 131_072);
        byte[] heartbeat = new byte[AmqpConstants.FrameOverhead];
        FrameWriter.WriteHeartbeat(heartbeat);

        yield return ("connection-start", Method(new ConnectionStart(0, 9, headers, "PLAIN AMQPLAIN", "en_US")));
        yield return ("connection-tune", Method(new ConnectionTune(2047, 131_072, 60)));
        yield return ("connection-close", Method(new ConnectionClose(320, "CONNECTION_FORCED", 0, 0)));
        yield return ("queue-declare-ok", Method(new QueueDeclareOk("q", 1, 2)));
        yield return ("basic-ack", Method(new BasicAck(5, true)));
        yield return ("heartbeat", heartbeat);
        yield return ("delivery", [.. Method(new BasicDeliver("ctag", 2, true, "ex", "rk")), .. header, .. body]);
    }

    private static byte[] Method<T>(T method) where T : struct, IAmqpMethod<T>
    {
        byte[] buffer = new byte[FrameWriter.MethodFrameSize(method)];
        FrameWriter.WriteMethodFrame(buffer, 1, method);
        return buffer;
    }
}
