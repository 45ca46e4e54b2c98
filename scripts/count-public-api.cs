// Counts the public surface of built assemblies: exported types (public, and public nested), and the
// members each declares that a user can reach (public or protected constructors, methods, operators,
// properties, events and fields; a property or event counts once, not per accessor; compiler-made
// record members such as EqualityContract and <Clone>$ do not count).
//   dotnet run scripts/count-public-api.cs -- path/to/A.dll [path/to/B.dll ...] [--list]
// Build the projects first (dotnet build -c Release ...). Dependencies resolve from the assembly's
// folder, then from the NuGet package cache.
#:property PublishAot=false
using System.Reflection;

var list = args.Contains("--list");
foreach (var path in args.Where(a => a != "--list"))
{
    var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
    AppDomain.CurrentDomain.AssemblyResolve += (_, e) => Resolve(dir, new AssemblyName(e.Name).Name!);
    int types = 0, members = 0;
    foreach (var type in Assembly.LoadFrom(path).GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
    {
        types++;
        var visible = type.GetMembers(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Where(IsVisible).ToList();
        members += visible.Count;
        if (list)
        {
            Console.WriteLine($"{type.FullName}: {visible.Count}");
            visible.ForEach(m => Console.WriteLine($"    {m.MemberType} {m}"));
        }
    }

    Console.WriteLine($"{Path.GetFileName(path)}: {types} public types, {members} public members");
}

static bool IsVisible(MemberInfo member)
{
    if (member.Name.Contains('<', StringComparison.Ordinal) || member.Name == "EqualityContract" || member.Name == "value__")
    {
        return false;
    }

    return member switch
    {
        MethodBase m => Reachable(m) && !(m is MethodInfo && m.IsSpecialName && !m.Name.StartsWith("op_", StringComparison.Ordinal)),
        FieldInfo f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly,
        PropertyInfo p => p.GetAccessors(nonPublic: true).Any(Reachable),
        EventInfo e => e.AddMethod is { } add && Reachable(add),
        _ => false,
    };
}

static bool Reachable(MethodBase m) => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly;

static Assembly? Resolve(string dir, string name)
{
    var local = Path.Combine(dir, name + ".dll");
    if (File.Exists(local))
    {
        return Assembly.LoadFrom(local);
    }

    var package = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages", name.ToLowerInvariant());
    var cached = Directory.Exists(package)
        ? Directory.GetFiles(package, name + ".dll", SearchOption.AllDirectories)
            .Where(f => f.Contains($"{Path.DirectorySeparatorChar}lib{Path.DirectorySeparatorChar}net", StringComparison.Ordinal))
            .OrderByDescending(f => f, StringComparer.Ordinal).FirstOrDefault()
        : null;
    return cached is null ? null : Assembly.LoadFrom(cached);
}
