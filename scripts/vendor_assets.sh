#!/usr/bin/env bash
# Copy the map's front-end assets from node_modules/ (installed from the npm registry by
# `npm ci`, pinned in package-lock.json) into static/vendor/, which Streamlit serves at
# /app/static/vendor/... ([server] enableStaticServing = true in .streamlit/config.toml).
# The map then loads no file from a CDN: the app works on a network without internet.
# Idempotent; run by scripts/setup.sh. static/vendor/ and node_modules/ are git-ignored.
set -euo pipefail
cd "$(dirname "$0")/.."

NM=node_modules
DEST=static/vendor
if [ ! -f "$NM/leaflet/package.json" ]; then
  echo "vendor_assets: $NM/leaflet is missing; run 'npm ci' first (scripts/setup.sh does)" >&2
  exit 1
fi

# package -> files to copy (paths inside the package, then the folder under static/vendor)
copy() {  # copy <package> <destination folder> <file>...
  local pkg="$1" dest="$DEST/$2"
  shift 2
  mkdir -p "$dest"
  for f in "$@"; do
    install -m 0644 "$NM/$pkg/$f" "$dest/$(basename "$f")"
  done
}

rm -rf "$DEST.tmp"
DEST_FINAL="$DEST"
DEST="$DEST.tmp"
copy leaflet leaflet dist/leaflet.js dist/leaflet.css LICENSE
copy leaflet leaflet/images \
  dist/images/layers.png dist/images/layers-2x.png \
  dist/images/marker-icon.png dist/images/marker-icon-2x.png dist/images/marker-shadow.png
copy jquery jquery dist/jquery.min.js LICENSE.txt

# record the versions actually copied (read by tests/layers/test_assets.py)
node -e '
const fs = require("fs");
const out = {};
for (const p of ["leaflet", "jquery"]) {
  out[p] = JSON.parse(fs.readFileSync(`node_modules/${p}/package.json`, "utf8")).version;
}
fs.writeFileSync(process.argv[1], JSON.stringify(out, null, 2) + "\n");
' "$DEST/versions.json"

# swap in atomically-ish so a running app never sees a half-copied folder
rm -rf "$DEST_FINAL.old"
[ -d "$DEST_FINAL" ] && mv "$DEST_FINAL" "$DEST_FINAL.old"
mv "$DEST" "$DEST_FINAL"
rm -rf "$DEST_FINAL.old"
echo "vendor_assets: $(find "$DEST_FINAL" -type f | wc -l) files in $DEST_FINAL ($(tr -d '\n ' < "$DEST_FINAL/versions.json"))"
