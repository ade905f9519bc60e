using System.Reflection;
using Npgsql;
using NpgsqlTypes;
using QrCalling.Storage.Postgres;
using Xunit;

namespace QrCalling.Storage.Postgres.Tests;

/// <summary>The stores' statements are sent in positional form (<see cref="PositionalStatement"/>), so Npgsql does not
/// parse and rewrite them on every execution: the rewrite itself, the binding of named parameters to positions, and
/// every statement of the stores against the real server.</summary>
public sealed class PositionalStatementTests
{
    [Fact]
    public void Create_NamesBecomeNumbersInOrderOfFirstUse_LiteralsIdentifiersAndCommentsUntouched()
    {
        var form = PositionalStatement.Create("""
            SELECT @b::int, '@not a name', "odd@column", @A -- @comment
            FROM t WHERE x = @b AND y = 'it''s @quoted' AND z = @a_2 AND j @> '{}'
            """);

        Assert.Equal(new[] { "b", "A", "a_2" }, form.Names);
        Assert.Equal("""
            SELECT $1::int, '@not a name', "odd@column", $2 -- @comment
            FROM t WHERE x = $1 AND y = 'it''s @quoted' AND z = $3 AND j @> '{}'
            """, form.Sql);
        // A name is case-insensitive, as in Npgsql's own rewrite.
        Assert.Equal(new[] { "id" }, PositionalStatement.Create("SELECT @id, @ID").Names);
        Assert.Equal("SELECT $1, $1", PositionalStatement.Create("SELECT @id, @ID").Sql);
    }

    [Theory]
    [InlineData("SELECT 1")]
    [InlineData("SELECT $1, @a")]
    [InlineData("DO $$ BEGIN PERFORM @a; END $$")]
    public void Create_NoNameOrADollarInTheText_StaysNamed(string sql)
    {
        var form = PositionalStatement.Create(sql);

        Assert.Null(form.Sql);
        Assert.Null(form.Bind([new NpgsqlParameter("a", 1)]));
    }

    [Fact]
    public void Bind_ExactlyTheNames_PutsThemInPositionalOrderWithoutNames()
    {
        var form = PositionalStatement.Create("SELECT @b, @a, @b");
        var a = new NpgsqlParameter("a", NpgsqlDbType.Integer) { Value = 1 };
        var b = new NpgsqlParameter("B", NpgsqlDbType.Integer) { Value = 2 };

        var ordered = form.Bind([a, b]);

        Assert.NotNull(ordered);
        Assert.Same(b, ordered[0]);
        Assert.Same(a, ordered[1]);
        Assert.All(ordered, p => Assert.Equal("", p.ParameterName));
    }

    [Fact]
    public void Bind_AMissingOrAnExtraParameter_ChangesNothing()
    {
        var form = PositionalStatement.Create("SELECT @a, @b");
        var a = new NpgsqlParameter("a", 1);
        var c = new NpgsqlParameter("c", 3);
        var b = new NpgsqlParameter("b", 2);

        Assert.Null(form.Bind([a]));
        Assert.Null(form.Bind([a, c]));
        Assert.Null(form.Bind([a, b, c]));
        Assert.Equal(new[] { "a", "c", "b" }, new[] { a, c, b }.Select(p => p.ParameterName));
    }

    [Fact]
    public async Task Database_NamedParametersInAnyOrder_ReachTheirPlacesOnTheServer()
    {
        var db = new PostgresDatabase(PostgresTestDatabase.DataSource, "public", TimeSpan.FromSeconds(10),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        var row = await db.SingleAsync("SELECT @later - @first, @first, @label, '@first'",
            [PostgresDatabase.Param("label", "x@y"), PostgresDatabase.Param("first", 1), PostgresDatabase.Param("later", 5)],
            r => new object[] { r.GetInt32(0), r.GetInt32(1), r.GetString(2), r.GetString(3) }, "test", default);
        // Parameters that are not exactly the statement's names: sent in the named form, as given (Npgsql ignores the
        // one the text does not use).
        var named = await db.ScalarAsync("SELECT @a::int", [PostgresDatabase.Param("a", 7), PostgresDatabase.Param("unused", 1)], "test", default);

        Assert.Equal(new object[] { 4, 1, "x@y", "@first" }, row);
        Assert.Equal(7, named);
    }

    [Fact]
    public async Task Database_AStoreStatement_GoesOutPositional_OtherParametersNamed()
    {
        var schema = await PostgresTestDatabase.CreateMigratedSchemaAsync();
        try
        {
            var db = new PostgresDatabase(PostgresTestDatabase.DataSource, schema, TimeSpan.FromSeconds(10),
                Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            var read = new PostgresMailboxStore(db).ReadSql;

            await using var command = db.Command(read, [PostgresDatabase.Param("n", 5), PostgresDatabase.Param("side", "caller"),
                PostgresDatabase.LongParam("after", 0), PostgresDatabase.Param("id", "call_x")]);
            await using var named = db.Command(read, [PostgresDatabase.Param("id", "call_x")]);

            Assert.Equal(PositionalStatement.Of(read).Sql, command.CommandText);
            Assert.DoesNotContain("@", command.CommandText, StringComparison.Ordinal);
            Assert.Equal(new object[] { "call_x", "caller", 0L, 5 }, command.Parameters.Select(p => p.Value!));
            Assert.All(command.Parameters, p => Assert.Equal("", p.ParameterName));
            await using (var reader = await command.ExecuteReaderAsync())
            {
                Assert.False(await reader.ReadAsync()); // a statement the server accepts in this form
            }
            Assert.Equal(read, named.CommandText); // its names do not match: as given
            Assert.Equal("id", Assert.Single(named.Parameters).ParameterName);
        }
        finally
        {
            await PostgresTestDatabase.DropSchemaAsync(schema);
        }
    }

    [Fact]
    public async Task EveryStoreStatement_HasAPositionalForm()
    {
        var schema = await PostgresTestDatabase.CreateMigratedSchemaAsync();
        try
        {
            var storage = PostgresTestDatabase.Storage(schema);
            var stores = new List<object> { storage.Codes, storage.Calls, storage.Mailbox, storage.PushSubscriptions, storage.CallerControls,
                storage.Devices, storage.Delegates, storage.Backups, storage.Rooms, storage.Messages };
            var statements = stores
                .SelectMany(store => store.GetType().GetFields(BindingFlags.Instance | BindingFlags.NonPublic)
                    .Where(f => f.FieldType == typeof(string))
                    .Select(f => (Name: $"{store.GetType().Name}.{f.Name}", Sql: (string?)f.GetValue(store))))
                .Where(s => s.Sql is not null && s.Sql.Contains('@', StringComparison.Ordinal))
                .ToList();

            Assert.True(statements.Count > 60, $"only {statements.Count} statements found");
            Assert.Empty(statements.Where(s => PositionalStatement.Create(s.Sql!).Sql is null).Select(s => s.Name));
        }
        finally
        {
            await PostgresTestDatabase.DropSchemaAsync(schema);
        }
    }
}
