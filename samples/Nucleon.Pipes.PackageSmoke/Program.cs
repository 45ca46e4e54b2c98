// Package smoke test: the published Nucleon.Pipes and Nucleon.Pipes.Hosting packages, used exactly as an
// application would. Part 1 (the client): connect, publish confirmed messages, consume and ack them
// all, close. Part 2 (the Generic Host): a hosted connection, a hosted consumer and the confirmed
// publisher, health checked, stopped with the host. Exit code 0 on success.
// Usage: dotnet run --project samples/Nucleon.Pipes.PackageSmoke -- amqp://guest:guest@127.0.0.1:5672/
using Nucleon.Pipes.PackageSmoke;

StartupTiming.Mark("main");
string uri = args.Length > 0 ? args[0] : "amqp://guest:guest@127.0.0.1:5672/";
// Under the scripts' 120 s bound, so that a stuck step ends in this process's own exception and stack trace.
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));

await ClientSmoke.RunAsync(uri, timeout.Token);
await HostSmoke.RunAsync(uri, timeout.Token);
StartupTiming.Mark("done");
StartupTiming.Print();
Console.WriteLine("package-smoke: all checks passed");
