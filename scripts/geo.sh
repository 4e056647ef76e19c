#!/usr/bin/env bash
# Install the offline IP-to-country database analytics uses (README "Where downloads
# come from"): ip-location-db's geo-whois-asn-country MMDB (CC0-1.0), fetched by npm
# from geo/package-lock.json, whose sha512 integrity npm checks, into $VAR_DIR/geo/
# (its data includes NRO statistics, CC BY 4.0: the analytics page credits nro.net).
# Nothing is read from the network at request time. Usage: bash scripts/geo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
target="${VAR_DIR:-var}/geo"
package=geo/node_modules/@ip-location-db/geo-whois-asn-country-mmdb
if ! command -v npm >/dev/null; then
  echo "geo data not installed: npm is needed to fetch it (countries stay unknown until then)" >&2
  exit 1
fi
npm ci --prefix geo --omit=dev --no-audit --no-fund --loglevel=error >/dev/null
mkdir -p "$target"
cp "$package/geo-whois-asn-country.mmdb" "$target/country.mmdb.new"
mv "$target/country.mmdb.new" "$target/country.mmdb"
cp "$package/NRO_LICENSE" "$target/country.NRO_LICENSE"
echo "installed $target/country.mmdb ($(du -h "$target/country.mmdb" | cut -f1); CC0-1.0, with NRO data under CC BY 4.0)"
