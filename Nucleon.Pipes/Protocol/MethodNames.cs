namespace Nucleon.Pipes.Protocol;

// STUB: to be completed with every method name.
internal static class MethodNames
{
    public static string Name(ushort classId, ushort methodId) => $"method {classId}.{methodId}";
}
