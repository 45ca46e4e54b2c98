namespace Nucleon.Pipes.Benchmarks.E2E;

/// <summary>
/// Hand-written findings below generated tables: a runner that rewrites a report keeps everything from its
/// <c>## Findings</c> heading on, so a re-run refreshes the tables without losing the analysis (which then says
/// which sitting it was written for).
/// </summary>
internal static class MarkdownNotes
{
    public const string Heading = "## Findings";

    /// <summary>The findings section of the report at <paramref name="path"/> (with a leading blank line), or "".</summary>
    public static string KeptFrom(string path)
    {
        if (!File.Exists(path))
        {
            return "";
        }

        string old = File.ReadAllText(path);
        int at = old.IndexOf("\n" + Heading, StringComparison.Ordinal);
        return at < 0 ? "" : "\n" + old[(at + 1)..];
    }
}
