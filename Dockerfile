# The offline country database (scripts/geo.sh does the same outside Docker):
# npm checks each file against geo/package-lock.json's sha512 integrity.
FROM node:20-slim AS geo
WORKDIR /geo
COPY geo/package.json geo/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir --require-hashes -r requirements.txt
COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput
COPY --from=geo /geo/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb /app/var/geo/country.mmdb
COPY --from=geo /geo/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/NRO_LICENSE /app/var/geo/country.NRO_LICENSE
COPY --from=geo /geo/node_modules/@ip-location-db/asn/asn-ipv4-num.csv /app/var/geo/asn/ipv4.csv
COPY --from=geo /geo/node_modules/@ip-location-db/asn/asn-ipv6-num.csv /app/var/geo/asn/ipv6.csv
COPY --from=geo /geo/node_modules/@ip-location-db/asn/DBIP-LICENSE /geo/node_modules/@ip-location-db/asn/ROUTEVIEWS-LICENSE /app/var/geo/asn/
# A fixed uid: docker-compose.yml runs Caddy as this user too, so the dashboard can
# read the certificates Caddy stores (readable by their owner only).
RUN useradd --system --uid 10001 --home /app app && mkdir -p /app/var && chown app /app/var
USER app
EXPOSE 8000
CMD ["python", "-m", "scarf.serving"]
