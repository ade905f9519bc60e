#!/usr/bin/env bash
# Records every package's current public API in its PublicAPI.Unshipped.txt (the PublicApiAnalyzers fail the build on
# an API change that is not recorded: RS0016 added, RS0017 removed). Run it after changing a public API on purpose,
# then review the diff of the PublicAPI files: that diff is the API change. Nothing has shipped yet, so everything is
# in Unshipped.txt; at a release, move the lines to PublicAPI.Shipped.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for project in src/*/*.csproj; do
  dir=$(dirname "$project")
  printf '#nullable enable\n' > "$dir/PublicAPI.Unshipped.txt"
  [ -f "$dir/PublicAPI.Shipped.txt" ] || printf '#nullable enable\n' > "$dir/PublicAPI.Shipped.txt"
done
for project in src/*/*.csproj; do
  dir=$(dirname "$project")
  # Each project on its own (its references first, with their files already complete from the previous loop turns).
  dotnet build "$project" -nologo 2>&1 | grep -F "$dir/" | grep -F 'RS0016' \
    | sed -E "s/.*Symbol '(.*)' is not part of the declared public API.*/\1/" | sort -u >> "$dir/PublicAPI.Unshipped.txt" || true
done
dotnet build QrCalling.sln -nologo -clp:ErrorsOnly
