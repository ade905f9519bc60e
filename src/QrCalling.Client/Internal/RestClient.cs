using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace QrCalling.Client.Internal;

/// <summary>The REST calls of both clients: JSON in and out, problem details turned into <see cref="QrCallingException"/>.</summary>
internal sealed class RestClient
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;
    private readonly Uri _baseAddress;
    private readonly string _prefix;

    public RestClient(HttpClient http, QrCallingClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _http = http;
        var baseAddress = options.BaseAddress ?? http.BaseAddress
            ?? throw new ArgumentException($"Set {nameof(QrCallingClientOptions)}.{nameof(QrCallingClientOptions.BaseAddress)} or the HttpClient's BaseAddress.");
        _baseAddress = baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
        _prefix = options.ApiPrefix.Trim('/');
        Options = options;
    }

    public QrCallingClientOptions Options { get; }

    public Uri BaseAddress => _baseAddress;

    public Uri Url(string path) => new(_baseAddress, _prefix + path);

    public async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, string? bearer, CancellationToken cancellationToken)
    {
        using var response = await SendCoreAsync(method, path, body, bearer, cancellationToken).ConfigureAwait(false);
        var value = await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken).ConfigureAwait(false);
        return value ?? throw new QrCallingException("unexpected_response", $"The host answered {method} {path} with an empty body.", response.StatusCode);
    }

    public async Task SendAsync(HttpMethod method, string path, object? body, string? bearer, CancellationToken cancellationToken)
    {
        using var response = await SendCoreAsync(method, path, body, bearer, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendCoreAsync(HttpMethod method, string path, object? body, string? bearer, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, Url(path));
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body, Json), Encoding.UTF8, "application/json");
        }
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        using (response)
        {
            throw await ProblemAsync(response, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<QrCallingException> ProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string? code = null;
        string? detail = null;
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                code = document.RootElement.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                detail = document.RootElement.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()
                    : document.RootElement.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            }
        }
        catch (JsonException)
        {
            // Not problem details (a proxy's page): the status says enough.
        }
        var retryAfter = response.Headers.RetryAfter?.Delta;
        return new QrCallingException(code ?? StatusCode(response.StatusCode),
            detail ?? $"The host answered {(int)response.StatusCode} {response.ReasonPhrase}.", response.StatusCode) { RetryAfter = retryAfter };
    }

    private static string StatusCode(HttpStatusCode status) => status switch
    {
        HttpStatusCode.Unauthorized => "unauthorized",
        HttpStatusCode.NotFound => "not_found",
        HttpStatusCode.TooManyRequests => "rate_limited",
        _ => "unexpected_response",
    };

    /// <summary>A single-use hub ticket for a bearer (an owner's token or a call token).</summary>
    public async Task<string> HubTicketAsync(string bearer, CancellationToken cancellationToken) =>
        (await SendAsync<HubTicket>(HttpMethod.Post, "/hub-tickets", null, bearer, cancellationToken).ConfigureAwait(false)).Ticket;

    private sealed record HubTicket(string Ticket, DateTimeOffset ExpiresAt);
}
