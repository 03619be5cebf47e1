using System.Linq.Expressions;
using System.Reflection;
using System.Runtime.ExceptionServices;

namespace Striate.Tests.TestSupport;

/// <summary>
/// Sets a static field or property for the length of a <c>using</c> block and puts back the value it had when the
/// block ends, also when it throws — the save/try/finally every switch-flipping test used to write by hand:
/// <code>
/// using (Switches.Set(() => Conv2dDirect.RunInterleave, false))
///     Check(...);
/// </code>
/// A process-wide static (not [ThreadStatic]) is only set from a test in <see cref="StaticSwitchesCollection"/>
/// (SwitchWritersTests checks that).
/// </summary>
public static class Switches
{
    /// <summary>Sets the static <paramref name="member"/> (a field or a property with a setter) to <paramref name="value"/>; disposing puts its old value back.</summary>
    public static IDisposable Set<T>(Expression<Func<T>> member, T value)
    {
        var (get, set) = Accessors(member);
        var saved = (T)get()!;
        Invoke(() => set(value));
        return new Restore(() => set(saved));
    }

    private static (Func<object?> Get, Action<object?> Set) Accessors<T>(Expression<Func<T>> member)
    {
        var body = member.Body is UnaryExpression { NodeType: ExpressionType.Convert } convert ? convert.Operand : member.Body;
        return body switch
        {
            MemberExpression { Expression: null, Member: FieldInfo f } when !f.IsInitOnly && !f.IsLiteral
                => (() => f.GetValue(null), v => f.SetValue(null, v)),
            MemberExpression { Expression: null, Member: PropertyInfo { SetMethod: not null } p }
                => (() => p.GetValue(null), v => p.SetValue(null, v)),
            _ => throw new ArgumentException($"Switches.Set takes a settable static field or property, as in () => Type.Field; got {member.Body}.", nameof(member)),
        };
    }

    /// <summary>Runs a reflective set and throws what the setter threw (an ArgumentOutOfRangeException, not a TargetInvocationException).</summary>
    private static void Invoke(Action set)
    {
        try { set(); }
        catch (TargetInvocationException e) when (e.InnerException != null) { ExceptionDispatchInfo.Throw(e.InnerException); }
    }

    private sealed class Restore(Action restore) : IDisposable
    {
        private Action? _restore = restore;

        public void Dispose()
        {
            var r = Interlocked.Exchange(ref _restore, null);
            if (r != null) Invoke(r);
        }
    }
}
