#!/usr/bin/env bash
# Copy the dashboard's front-end libraries from node_modules into static/vendor/.
# Run after changing package.json (`npm ci && npm run vendor`) and commit static/vendor/:
# serving the product needs no npm, only these copied files.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
mkdir -p static/vendor
cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
cp node_modules/chart.js/dist/chart.umd.min.js static/vendor/chart.umd.min.js
cp node_modules/htmx.org/LICENSE static/vendor/htmx.LICENSE
cp node_modules/chart.js/LICENSE.md static/vendor/chart.js.LICENSE.md
# Swagger UI for /api/v1/docs/ (drf-spectacular's SWAGGER_UI_DIST points here, not at a CDN).
mkdir -p static/vendor/swagger-ui
for file in swagger-ui-bundle.js swagger-ui-standalone-preset.js swagger-ui.css favicon-32x32.png LICENSE; do
  cp "node_modules/swagger-ui-dist/$file" static/vendor/swagger-ui/
done
echo "copied into static/vendor: $(ls -R static/vendor | tr '\n' ' ')"
