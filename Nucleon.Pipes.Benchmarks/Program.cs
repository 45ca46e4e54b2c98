// Benchmarks arrive with the performance issue; this entry point keeps the project building.
Console.WriteLine("Nucleon.Pipes.Benchmarks: no benchmarks yet.");
