#!/usr/bin/env bash
# Install the offline databases analytics uses (README "Where downloads come from"),
# fetched by npm from geo/package-lock.json, whose sha512 integrity npm checks, into
# $VAR_DIR/geo/: ip-location-db's geo-whois-asn-country MMDB for countries (CC0-1.0,
# with NRO statistics under CC BY 4.0) and its asn ranges for networks (CC BY 4.0:
# DB-IP and RouteViews data). The analytics page credits both as their licenses ask.
# Nothing is read from the network at request time. Usage: bash scripts/geo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
target="${VAR_DIR:-var}/geo"
package=geo/node_modules/@ip-location-db/geo-whois-asn-country-mmdb
networks=geo/node_modules/@ip-location-db/asn
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
# Numeric ranges (first,last,asn,organisation), one file per address family.
mkdir -p "$target/asn.new"
cp "$networks/asn-ipv4-num.csv" "$target/asn.new/ipv4.csv"
cp "$networks/asn-ipv6-num.csv" "$target/asn.new/ipv6.csv"
cp "$networks/DBIP-LICENSE" "$networks/ROUTEVIEWS-LICENSE" "$target/asn.new/"
rm -rf "$target/asn" && mv "$target/asn.new" "$target/asn"
echo "installed $target/asn ($(du -sh "$target/asn" | cut -f1); CC BY 4.0, DB-IP and RouteViews data)"
