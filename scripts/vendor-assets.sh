#!/usr/bin/env bash
# Re-vendor the browser libraries the web UI serves from its own origin (the CSP allows no CDN).
#
#   scripts/vendor-assets.sh           fetch the pinned packages with `npm pack`, check, copy into vendor/
#   scripts/vendor-assets.sh --check   only check the files already in vendor/ (no network; fit for CI)
#
# Every tarball and every copied file is checked against the sha256 pinned below, so a re-run either
# reproduces the committed bytes exactly or fails. To upgrade: change a version, run once, read the
# mismatch it reports, review the upstream diff, then update the pins and vendor/README.md together.
set -euo pipefail

HTMX_VERSION="2.0.11"
CHARTJS_VERSION="4.6.1"

# "<package>@<version> sha256-of-tarball"
declare -A TARBALL_SHA256=(
  ["htmx.org@${HTMX_VERSION}"]="165a2655073e9e6e55e307a7c74e8ebcdb76afb7701f9c16cfd106a13add408e"
  ["chart.js@${CHARTJS_VERSION}"]="9345dacdf4bb4c5d40321f4b9aafab6fe676d37a534fc0bc2d17c4c4e29c4f00"
)

# Lines of: package@version  path-inside-tarball  name-in-vendor  sha256
FILES="
htmx.org@${HTMX_VERSION}  package/dist/htmx.min.js         htmx.min.js         d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717
htmx.org@${HTMX_VERSION}  package/LICENSE                  htmx.LICENSE        d3d2456f76414f2456104660ebd65aff1c04cd7966b942bdabd63f3cdb316a38
chart.js@${CHARTJS_VERSION} package/dist/chart.umd.min.js  chart.umd.min.js    87364cc2b2a76a6684929e7d6b80b18a897794db38400caff1fcf1791c6925d2
chart.js@${CHARTJS_VERSION} package/LICENSE.md             chart.js.LICENSE.md 41a84aa2caba645f966a18d9c2056b73e6d3a81d80bc0046bc0011a2634d4cce
"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR_DIR="${REPO_ROOT}/src/signalfire/web/static/vendor"

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

check_sha() {  # file expected label
  local actual
  actual="$(sha256_of "$1")"
  if [[ "${actual}" != "$2" ]]; then
    echo "sha256 mismatch for $3: expected $2, got ${actual}" >&2
    return 1
  fi
}

check_vendored() {
  local status=0 spec inner name sum
  while read -r spec inner name sum; do
    [[ -z "${spec}" ]] && continue
    if [[ ! -f "${VENDOR_DIR}/${name}" ]]; then
      echo "missing: vendor/${name} (${spec})" >&2
      status=1
      continue
    fi
    check_sha "${VENDOR_DIR}/${name}" "${sum}" "vendor/${name}" || status=1
  done <<<"${FILES}"
  return "${status}"
}

if [[ "${1:-}" == "--check" ]]; then
  check_vendored
  echo "vendor/ matches the pinned sha256s"
  exit 0
fi

command -v npm >/dev/null || { echo "npm is required (apt-get install npm)" >&2; exit 1; }

# Work outside the repo so no tarball or node_modules is ever left in the tree.
WORK="$(mktemp -d)"
trap 'rm -rf "${WORK}"' EXIT

for spec in "${!TARBALL_SHA256[@]}"; do
  (cd "${WORK}" && npm pack --silent "${spec}" >/dev/null)
  # npm names the tarball <name>-<version>.tgz, with any scope's "@" dropped and "/" turned into "-".
  tarball="${WORK}/${spec/@/-}.tgz"
  check_sha "${tarball}" "${TARBALL_SHA256[${spec}]}" "${spec} tarball"
  mkdir -p "${WORK}/${spec}"
  tar -xzf "${tarball}" -C "${WORK}/${spec}"
done

# Check everything before copying anything, so a failed run leaves vendor/ as it was.
while read -r spec inner name sum; do
  [[ -z "${spec}" ]] && continue
  check_sha "${WORK}/${spec}/${inner}" "${sum}" "${spec}:${inner}"
done <<<"${FILES}"

mkdir -p "${VENDOR_DIR}"
while read -r spec inner name sum; do
  [[ -z "${spec}" ]] && continue
  install -m 0644 "${WORK}/${spec}/${inner}" "${VENDOR_DIR}/${name}"
done <<<"${FILES}"

check_vendored
echo "vendored htmx.org ${HTMX_VERSION} and chart.js ${CHARTJS_VERSION} into ${VENDOR_DIR#"${REPO_ROOT}"/}"
