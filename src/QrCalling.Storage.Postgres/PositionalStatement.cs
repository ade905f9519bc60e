using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Npgsql;

namespace QrCalling.Storage.Postgres;

/// <summary>The positional form (<c>$1</c>, <c>$2</c>, ...) of a statement the stores write with <c>@name</c> parameters.
/// Npgsql parses and rewrites the text of every command with named parameters, on every execution (about 4% of the
/// host's CPU in the load tool's PostgreSQL relay); a command whose parameters are all positional is sent as it is.
/// So each statement is rewritten once (the form is kept for as long as its text is alive) and its parameters are put
/// in that form's order.</summary>
internal sealed partial class PositionalStatement
{
    private static readonly ConditionalWeakTable<string, PositionalStatement> Forms = new();
    private static readonly PositionalStatement Named = new(null, []);

    private PositionalStatement(string? sql, string[] names)
    {
        Sql = sql;
        Names = names;
    }

    /// <summary>The statement with <c>$n</c> in place of each name; null when it stays in the named form (no parameter,
    /// or text this rewrite does not handle: a <c>$</c> already in it).</summary>
    public string? Sql { get; }

    /// <summary>The parameter names in positional order: <c>$1</c> is the first.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The positional form of <paramref name="sql"/>, made on first use.</summary>
    public static PositionalStatement Of(string sql) => Forms.GetValue(sql, Create);

    /// <summary>Rewrites <paramref name="sql"/>: each <c>@name</c> outside quotes and comments becomes <c>$n</c>, the same
    /// name the same number.</summary>
    internal static PositionalStatement Create(string sql)
    {
        if (sql.Contains('$', StringComparison.Ordinal))
        {
            return Named;
        }
        var names = new List<string>();
        var text = Tokens().Replace(sql, match =>
        {
            if (!match.Groups[1].Success)
            {
                return match.Value; // a literal, a quoted identifier or a comment: as it is
            }
            var name = match.Groups[1].Value;
            var index = names.FindIndex(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));
            if (index < 0)
            {
                names.Add(name);
                index = names.Count - 1;
            }
            return "$" + (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
        return names.Count == 0 ? Named : new PositionalStatement(text, [.. names]);
    }

    /// <summary>The command's parameters in positional order, their names cleared; null (nothing changed) unless they
    /// are exactly the statement's names, one each. The parameters must belong to this one execution.</summary>
    public NpgsqlParameter[]? Bind(NpgsqlParameter[] parameters)
    {
        if (Sql is null || parameters.Length != Names.Count)
        {
            return null;
        }
        var ordered = new NpgsqlParameter[parameters.Length];
        for (var i = 0; i < ordered.Length; i++)
        {
            var name = Names[i];
            foreach (var parameter in parameters)
            {
                if (string.Equals(parameter.ParameterName, name, StringComparison.OrdinalIgnoreCase))
                {
                    ordered[i] = parameter;
                    break;
                }
            }
            if (ordered[i] is null)
            {
                return null;
            }
        }
        foreach (var parameter in ordered)
        {
            parameter.ParameterName = "";
        }
        return ordered;
    }

    /// <summary>A single-quoted literal, a double-quoted identifier, a line comment, or a parameter name (group 1).</summary>
    [GeneratedRegex("""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|@([A-Za-z_][A-Za-z0-9_]*)""", RegexOptions.CultureInvariant)]
    private static partial Regex Tokens();
}
