using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using QrCalling.SampleHost;
using QrCalling.SampleHost.Accounts;
using Xunit;

namespace QrCalling.Browser.Tests;

/// <summary>Fast tests of the sample host without a browser (in-memory TestServer); they also pass outside a network
/// namespace.</summary>
public sealed class SampleHostApiTests : IClassFixture<WebApplicationFactory<Program>>
{
    private readonly WebApplicationFactory<Program> _factory;

    public SampleHostApiTests(WebApplicationFactory<Program> factory) => _factory = factory;

    [Fact]
    public async Task RegisterThenLogin_ValidCredentials_TokenAuthorizesOwnerEndpoints()
    {
        using var client = _factory.CreateClient();
        var name = NewName();

        using var register = await client.PostAsJsonAsync("/api/v1/account/register", new { username = name, password = "correct horse" });
        Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        var token = await LoginAsync(client, name, "correct horse");

        using var anonymous = await client.GetAsync("/api/v1/codes");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/codes");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var codes = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, codes.StatusCode);
    }

    [Fact]
    public async Task Register_TakenUsernameInOtherCase_Returns409UsernameTaken()
    {
        using var client = _factory.CreateClient();
        var name = NewName();
        (await client.PostAsJsonAsync("/api/v1/account/register", new { username = name, password = "password1" })).EnsureSuccessStatusCode();

        using var again = await client.PostAsJsonAsync("/api/v1/account/register", new { username = name.ToUpperInvariant(), password = "password2" });

        await AssertProblemAsync(again, HttpStatusCode.Conflict, "username_taken");
    }

    [Theory]
    [InlineData("ab", "long enough")]
    [InlineData("has space", "long enough")]
    [InlineData("valid_name", "short")]
    [InlineData("", "")]
    public async Task Register_InvalidInput_Returns400InvalidRequest(string username, string password)
    {
        using var client = _factory.CreateClient();

        using var response = await client.PostAsJsonAsync("/api/v1/account/register", new { username, password });

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task Login_WrongPasswordOrUnknownUser_Returns401Unauthorized()
    {
        using var client = _factory.CreateClient();
        var name = NewName();
        (await client.PostAsJsonAsync("/api/v1/account/register", new { username = name, password = "password1" })).EnsureSuccessStatusCode();

        using var wrong = await client.PostAsJsonAsync("/api/v1/account/login", new { username = name, password = "password2" });
        using var unknown = await client.PostAsJsonAsync("/api/v1/account/login", new { username = NewName(), password = "password1" });

        await AssertProblemAsync(wrong, HttpStatusCode.Unauthorized, "unauthorized");
        await AssertProblemAsync(unknown, HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task Login_ManyAttempts_IsRateLimitedWith429()
    {
        await using var factory = new WebApplicationFactory<Program>();
        using var client = factory.CreateClient();
        HttpStatusCode last = HttpStatusCode.OK;
        for (var i = 0; i < 25 && last != HttpStatusCode.TooManyRequests; i++)
        {
            using var response = await client.PostAsJsonAsync("/api/v1/account/login", new { username = "x", password = "y" });
            last = response.StatusCode;
            if (last == HttpStatusCode.TooManyRequests)
            {
                await AssertProblemAsync(response, HttpStatusCode.TooManyRequests, "rate_limited");
            }
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, last);
    }

    [Theory]
    [InlineData("/api/v1/account/register", "application/json", "{\"username\": \"abc\", ", HttpStatusCode.BadRequest, "invalid_request")]
    [InlineData("/api/v1/account/login", "application/json", "{\"username\": \"abc\", ", HttpStatusCode.BadRequest, "invalid_request")]
    [InlineData("/api/v1/account/register", "application/x-www-form-urlencoded", "username=abc&password=correct+horse", HttpStatusCode.UnsupportedMediaType, "unsupported_media_type")]
    [InlineData("/api/v1/account/login", "text/plain", "abc", HttpStatusCode.UnsupportedMediaType, "unsupported_media_type")]
    public async Task AccountEndpoint_MalformedJsonOrWrongContentType_ReturnsProblemWithCode(string path, string contentType, string body, HttpStatusCode status, string code)
    {
        using var client = _factory.CreateClient();

        using var response = await client.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, contentType));

        await AssertProblemAsync(response, status, code);
    }

    [Theory]
    [InlineData("GET", "/api/v1/nope", HttpStatusCode.NotFound, "not_found")]
    [InlineData("POST", "/api/v1/nope/deeper", HttpStatusCode.NotFound, "not_found")]
    [InlineData("GET", "/api/v1/account/login", HttpStatusCode.MethodNotAllowed, "method_not_allowed")]
    public async Task UnmatchedApiRoute_AnyAcceptHeader_ReturnsProblemWithCode(string method, string path, HttpStatusCode status, string code)
    {
        using var client = _factory.CreateClient();
        foreach (var accept in new[] { null, "text/html,application/xhtml+xml" })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (accept is not null)
            {
                request.Headers.TryAddWithoutValidation("Accept", accept);
            }

            using var response = await client.SendAsync(request);

            await AssertProblemAsync(response, status, code);
        }
    }

    [Fact]
    public async Task Register_AccountStoreUnreachable_Returns503StorageUnavailable()
    {
        // Redis storage pointed at a loopback port nobody listens on: a real outage, no mock.
        await using var server = await SampleHostServer.StartAsync("--QrCalling:Storage=redis", $"--ConnectionStrings:Redis=127.0.0.1:{ClosedPort()},connectTimeout=1000");
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };

        using var register = await http.PostAsJsonAsync("/api/v1/account/register", new { username = NewName(), password = "correct horse" });
        using var login = await http.PostAsJsonAsync("/api/v1/account/login", new { username = NewName(), password = "correct horse" });

        await AssertProblemAsync(register, HttpStatusCode.ServiceUnavailable, "storage_unavailable");
        await AssertProblemAsync(login, HttpStatusCode.ServiceUnavailable, "storage_unavailable");
    }

    [Fact]
    public async Task PostgresAccountStore_DatabaseUnreachable_ThrowsStorageUnavailable()
    {
        await using var store = new PostgresAccountStore($"Host=127.0.0.1;Port={ClosedPort()};Username=x;Password=y;Timeout=3");

        await Assert.ThrowsAsync<StorageUnavailableException>(async () => await store.FindAsync("someone", CancellationToken.None));
        await Assert.ThrowsAsync<StorageUnavailableException>(async () =>
            await store.TryAddAsync(new SampleAccount("u_1", "someone", "hash"), CancellationToken.None));
    }

    [Theory]
    [InlineData("203.0.113.77")]
    [InlineData("2001:db8::4242")]
    [InlineData("::ffff:198.51.100.9")]
    public void AccountRateLimitPartition_ClientAddress_KeyIsAKeyedHashWithoutTheAddress(string ip)
    {
        var address = IPAddress.Parse(ip);
        var policy = new AccountRateLimitPolicy(5);
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Connection.RemoteIpAddress = address;
        var other = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        other.Connection.RemoteIpAddress = IPAddress.Parse("192.0.2.1");

        var key = policy.GetPartition(context).PartitionKey;

        foreach (var text in new[] { ip, address.ToString(), address.MapToIPv4().ToString(), address.MapToIPv6().ToString() })
        {
            Assert.DoesNotContain(text, key, StringComparison.OrdinalIgnoreCase);
        }
        Assert.Matches("^ip:[0-9a-f]{64}$", key);
        Assert.Equal(key, policy.GetPartition(context).PartitionKey);
        Assert.NotEqual(key, policy.GetPartition(other).PartitionKey);
    }

    [Fact]
    public void AccountRateLimitPartition_Ipv6SameSlash64_SharesKeyOtherSlash64DoesNot()
    {
        var key = AccountRateLimitPolicy.PartitionKey(IPAddress.Parse("2001:db8:1:2::1"));

        Assert.Equal(key, AccountRateLimitPolicy.PartitionKey(IPAddress.Parse("2001:db8:1:2:ffff:eeee:dddd:cccc")));
        Assert.NotEqual(key, AccountRateLimitPolicy.PartitionKey(IPAddress.Parse("2001:db8:1:3::1")));
        Assert.NotEqual(key, AccountRateLimitPolicy.PartitionKey(IPAddress.Parse("2001:db8:1:2::1").MapToIPv4()));
        // IPv4 stays the whole address, also when written as IPv4-mapped IPv6 (which shares ::ffff:0:0/96, not a /64 budget).
        Assert.Equal(AccountRateLimitPolicy.PartitionKey(IPAddress.Parse("198.51.100.9")),
            AccountRateLimitPolicy.PartitionKey(IPAddress.Parse("::ffff:198.51.100.9")));
        Assert.NotEqual(AccountRateLimitPolicy.PartitionKey(IPAddress.Parse("::ffff:198.51.100.9")),
            AccountRateLimitPolicy.PartitionKey(IPAddress.Parse("::ffff:198.51.100.10")));
    }

    [Theory]
    [InlineData("--QrCalling:Sample:KnownProxies=127.0.0.1", true)]
    [InlineData("--QrCalling:Sample:KnownNetworks=127.0.0.0/8", true)]
    [InlineData("--QrCalling:Sample:KnownProxies=192.0.2.1", false)] // a proxy, but not the one the request comes from
    [InlineData("--QrCalling:Sample:AccountPermitsPerMinute=2", false)] // no proxy configured: the header is ignored
    public async Task AccountLimiter_XForwardedFor_PartitionsByForwardedClientOnlyFromKnownProxy(string setting, bool forwarded)
    {
        await using var server = await SampleHostServer.StartAsync("--QrCalling:Sample:AccountPermitsPerMinute=2", setting);
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };

        async Task<HttpStatusCode> LoginFromAsync(string client)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/account/login")
            {
                Content = JsonContent.Create(new { username = "nobody", password = "password1" }),
            };
            request.Headers.Add("X-Forwarded-For", client);
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await LoginFromAsync("203.0.113.7"));
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginFromAsync("203.0.113.7"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await LoginFromAsync("203.0.113.7"));
        // Another forwarded client has its own budget only when the proxy is trusted; otherwise all share 127.0.0.1's.
        Assert.Equal(forwarded ? HttpStatusCode.Unauthorized : HttpStatusCode.TooManyRequests, await LoginFromAsync("203.0.113.8"));
    }

    [Theory]
    [InlineData("--QrCalling:Sample:KnownProxies=127.0.0.1", "https://")]
    [InlineData("--QrCalling:Storage=memory", "http://")]
    public async Task CreateCode_XForwardedProtoHttps_LinkUsesForwardedSchemeOnlyFromKnownProxy(string setting, string expectedScheme)
    {
        await using var server = await SampleHostServer.StartAsync(setting);
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        var name = NewName();
        (await http.PostAsJsonAsync("/api/v1/account/register", new { username = name, password = "password1" })).EnsureSuccessStatusCode();
        var token = await LoginAsync(http, name, "password1");

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/codes") { Content = JsonContent.Create(new { label = "door" }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Add("X-Forwarded-Proto", "https");
        request.Headers.Add("X-Forwarded-For", "203.0.113.7");
        using var created = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        Assert.StartsWith(expectedScheme, body.RootElement.GetProperty("link").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hub_OwnerJwtAsAccessTokenQuery_IsAcceptedAndCallTokensAreNotTakenForJwts()
    {
        using var client = _factory.CreateClient();
        var name = NewName();
        (await client.PostAsJsonAsync("/api/v1/account/register", new { username = name, password = "password1" })).EnsureSuccessStatusCode();
        var token = await LoginAsync(client, name, "password1");

        await using var owner = Hub($"?deviceId=test-device&access_token={token}");
        // The hub refuses unauthenticated connections (HubException "unauthorized: ..."), so staying connected means
        // the JWT from ?access_token= made this an owner.
        Assert.True(await StaysConnectedAsync(owner), "The owner's hub connection was refused.");

        // A call token is never read as a JWT: an unknown one is refused by the hosting package.
        await using var stranger = Hub("?access_token=qct_" + new string('A', 43));
        Assert.False(await StaysConnectedAsync(stranger), "An unknown call token was admitted.");
    }

    [Fact]
    public async Task SignOut_RevokesTheTokenAndClosesTheOwnersHubConnections()
    {
        using var client = _factory.CreateClient();
        var name = NewName();
        (await client.PostAsJsonAsync("/api/v1/account/register", new { username = name, password = "password1" })).EnsureSuccessStatusCode();
        var token = await LoginAsync(client, name, "password1");
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var ticket = (await (await client.PostAsync("/api/v1/hub-tickets", null)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ticket").GetString()!;
        await using var owner = Hub($"?deviceId=test-device&access_token={ticket}");
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        owner.Closed += _ => { closed.TrySetResult(); return Task.CompletedTask; };
        await owner.StartAsync();
        await owner.InvokeAsync<JsonElement>("Resume", "call_unknown", 0L).ContinueWith(_ => { }); // OnConnectedAsync has run
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/codes")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync("/api/v1/account/logout", null)).StatusCode);

        await closed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/codes")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsync("/api/v1/hub-tickets", null)).StatusCode);
        var again = await LoginAsync(client, name, "password1"); // a new sign-in works
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", again);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/codes")).StatusCode);
    }

    private static async Task<bool> StaysConnectedAsync(HubConnection connection)
    {
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Closed += e => { closed.TrySetResult(e); return Task.CompletedTask; };
        try
        {
            await connection.StartAsync();
        }
        catch (Exception)
        {
            return false;
        }
        var first = await Task.WhenAny(closed.Task, Task.Delay(TimeSpan.FromMilliseconds(500)));
        return first != closed.Task && connection.State == HubConnectionState.Connected;
    }

    [Theory]
    [InlineData("--QrCalling:Storage=bogus", "QrCalling:Storage must be memory, postgres or redis")]
    [InlineData("--QrCalling:Storage=postgres", "ConnectionStrings:Postgres is required when QrCalling:Storage=postgres")]
    [InlineData("--QrCalling:Storage=redis", "ConnectionStrings:Redis is required when QrCalling:Storage=redis")]
    [InlineData("--QrCalling:Sample:JwtKey=short", "QrCalling:Sample:JwtKey")]
    [InlineData("--QrCalling:Turn:Urls=turn:127.0.0.1:3478", "QrCalling:Turn:SharedSecret")]
    [InlineData("--QrCalling:PublicBaseUrl=not-a-url", "QrCalling:PublicBaseUrl")]
    [InlineData("--QrCalling:RingTimeout=abc", "QrCalling:RingTimeout")]
    [InlineData("--QrCalling:Storage=postgres --ConnectionStrings:Postgres=garbage", "ConnectionStrings:Postgres")]
    [InlineData("--QrCalling:Sample:KnownProxies=127.0.0.1,proxy.example", "QrCalling:Sample:KnownProxies")]
    [InlineData("--QrCalling:Sample:KnownProxies=10.0.0.0/8", "QrCalling:Sample:KnownProxies")]
    [InlineData("--QrCalling:Sample:KnownNetworks=10.0.0.0/33", "QrCalling:Sample:KnownNetworks")]
    [InlineData("--QrCalling:Sample:KnownNetworks=10.0.0.1", "QrCalling:Sample:KnownNetworks")]
    public async Task Start_BadSetting_PrintsOneLineNamingTheKeyAndExits1(string settings, string expected)
    {
        using var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        var exitCode = await SampleHostApp.RunAsync(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=None", .. settings.Split(' ')], error, timeout.Token);

        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(1, exitCode);
        Assert.Single(lines);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApiAndScalar_ServedLocally_WithoutCdn()
    {
        using var client = _factory.CreateClient();

        var document = await client.GetStringAsync("/openapi/v1.json");
        var ui = await client.GetStringAsync("/scalar/");
        using var script = await client.GetAsync("/scalar/scalar.js");

        Assert.Contains("/api/v1/account/register", document, StringComparison.Ordinal);
        Assert.DoesNotContain("cdn.jsdelivr", ui, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
    }

    /// <summary>Issue 11: the sample's document (its account routes included) describes every operation, secures the
    /// owner routes with the bearer scheme, and its account examples are accepted.</summary>
    [Fact]
    public async Task OpenApiDocument_EveryOperationDescribed_OwnerRoutesSecured_AccountExamplesAccepted()
    {
        using var client = _factory.CreateClient();

        using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));
        var root = document.RootElement;
        var operations = root.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(o => (Key: $"{o.Name} {p.Name}", Operation: o.Value))).ToList();

        Assert.True(operations.Count >= 18, "operations: " + operations.Count);
        Assert.All(operations, o =>
        {
            Assert.False(string.IsNullOrWhiteSpace(o.Operation.GetProperty("summary").GetString()), o.Key);
            Assert.False(string.IsNullOrWhiteSpace(o.Operation.GetProperty("description").GetString()), o.Key);
        });
        Assert.Contains("bearer", root.GetProperty("components").GetProperty("securitySchemes").GetProperty("owner").GetRawText(), StringComparison.Ordinal);
        string Security(string key) => operations.Single(o => o.Key == key).Operation.TryGetProperty("security", out var security) ? security.GetRawText() : "";
        Assert.Contains("\"owner\"", Security("post /api/v1/account/logout"), StringComparison.Ordinal);
        Assert.Contains("\"owner\"", Security("post /api/v1/codes"), StringComparison.Ordinal);
        Assert.Contains("\"callToken\"", Security("get /api/v1/calls/{callId}"), StringComparison.Ordinal);
        Assert.Equal("", Security("post /api/v1/account/login"));
        Assert.Contains("Resume(callId, afterSeq)", root.GetProperty("info").GetProperty("description").GetString(), StringComparison.Ordinal);

        // The account examples: register then login with the example body (its user name is taken on a second run: 409).
        string Example(string key) => operations.Single(o => o.Key == key).Operation.GetProperty("requestBody").GetProperty("content")
            .GetProperty("application/json").GetProperty("example").GetRawText();
        using var register = await client.PostAsync("/api/v1/account/register", new StringContent(Example("post /api/v1/account/register"),
            System.Text.Encoding.UTF8, "application/json"));
        Assert.True(register.StatusCode is HttpStatusCode.Created or HttpStatusCode.Conflict, register.StatusCode.ToString());
        using var login = await client.PostAsync("/api/v1/account/login", new StringContent(Example("post /api/v1/account/login"),
            System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
    }

    [Theory]
    [InlineData("/", "/lib/signalr/signalr.min.js")]
    [InlineData("/c", "/lib/jsqr/jsQR.js")]
    public async Task WebPages_Served_EveryScriptIsSameOrigin(string page, string library)
    {
        using var client = _factory.CreateClient();

        using var response = await client.GetAsync(page);
        var html = await response.Content.ReadAsStringAsync();
        using var script = await client.GetAsync(library);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"src=\"{library}\"", html, StringComparison.Ordinal);
        Assert.DoesNotMatch("src=\"(https?:)?//", html);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    /// <summary>A hub connection whose token rides in the query, exactly as browsers send it over WebSockets.</summary>
    private HubConnection Hub(string query) => new HubConnectionBuilder()
        .WithUrl(new Uri(_factory.Server.BaseAddress, SampleHostApp.HubPath + query), o =>
        {
            o.Transports = HttpTransportType.WebSockets;
            o.SkipNegotiation = true;
            o.WebSocketFactory = async (context, cancellationToken) =>
            {
                var ws = _factory.Server.CreateWebSocketClient();
                return await ws.ConnectAsync(context.Uri, cancellationToken);
            };
        })
        .Build();

    private static async Task<string> LoginAsync(HttpClient client, string username, string password)
    {
        using var login = await client.PostAsJsonAsync("/api/v1/account/login", new { username, password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        using var body = JsonDocument.Parse(await login.Content.ReadAsStringAsync());
        Assert.True(body.RootElement.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);
        return body.RootElement.GetProperty("accessToken").GetString()!;
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, body.RootElement.GetProperty("code").GetString());
    }

    private static int ClosedPort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static string NewName() => "u" + Guid.NewGuid().ToString("N")[..12];
}
