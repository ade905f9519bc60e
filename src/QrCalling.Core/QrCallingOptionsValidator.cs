using Microsoft.Extensions.Options;

namespace QrCalling;

/// <summary>Validates <see cref="QrCallingOptions"/> at start-up (DataAnnotations through the options source generator).</summary>
[OptionsValidator]
internal sealed partial class QrCallingOptionsValidator : IValidateOptions<QrCallingOptions>
{
}
