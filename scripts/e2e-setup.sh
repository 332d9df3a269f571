#!/usr/bin/env bash
# Prepare real container engines for sidecar-new's end-to-end tests.
#
#   env=$(scripts/e2e-setup.sh) && eval "$env"   # as root; exports SIDECAR_NEW_E2E_IMAGE
#   (not a bare `eval "$(...)"`: that would swallow the script's exit status)
#
# Installs Docker Engine + podman from Debian, starts dockerd (no systemd here),
# configures podman for this sandbox, and builds a tiny local test image from
# Debian's busybox-static (no image registry is reachable, only package
# registries). Idempotent: a second run only checks and takes a few seconds.
# Logs go to stderr; stdout carries only `export` lines, so `eval` is safe.
# Findings behind each step: the lead's research notes (e2e-findings.md).
set -Eeuo pipefail

# Pinned test image: bump the tag whenever the recipe below changes, so old
# copies are not reused (the script skips building when the tag exists).
IMAGE=localhost/sidecar-new-test/busybox:1.0
# Real programs from Debian's packages, on the same base (tag bumped with their recipe).
PROMETHEUS_IMAGE=localhost/sidecar-new-test/prometheus:1.0
NGINX_IMAGE=localhost/sidecar-new-test/nginx:1.0
PGBOUNCER_IMAGE=localhost/sidecar-new-test/pgbouncer:1.0
POSTGRES_IMAGE=localhost/sidecar-new-test/postgresql:1.1
DOCKERD_LOG=/var/log/sidecar-new-dockerd.log
DOCKERD_TIMEOUT=${DOCKERD_TIMEOUT:-60}
PACKAGES=(docker.io podman catatonit busybox-static prometheus nginx pgbouncer postgresql-15 tzdata)
START=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

log() { echo "e2e-setup: $*" >&2; }
die() { echo "e2e-setup: FAILED: $*" >&2; exit 1; }
trap 'die "line $LINENO: \`$BASH_COMMAND\` exited with $?"' ERR
[ "$(id -u)" = 0 ] || die "must run as root (installs packages, starts dockerd)"

# --- 1. Debian packages ------------------------------------------------------
# docker.io pulls in containerd, runc, tini and iptables; podman pulls in conmon
# and the CNI plugins. catatonit is only a Recommends of podman but it is what
# builds podman's local pause image (the pod's infra container) without a
# registry. uidmap/slirp4netns are not needed: we run rootful. The server packages
# (prometheus, ...) are installed only to copy their files into test images (step 4): their
# services must not start on this host, so a policy-rc.d refuses it during the install
# (Debian's invoke-rc.d asks it; the sandbox ships one already, a plain host may not).
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d; rm -rf "$work"' EXIT
  fi
  install() { apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
  # apt-get update only when needed: the lists do not know a package, or they
  # are stale and the download fails (superseded versions vanish from mirrors).
  if ! apt-cache show "${missing[@]}" >/dev/null 2>&1 || ! install; then
    apt-get update -q >&2 || die "apt-get update failed"
    install || die "apt-get install ${missing[*]} failed"
  fi
fi

# --- 2. dockerd ----------------------------------------------------------------
# Installing docker.io does not start it here (policy-rc.d denies it, and PID 1
# is not systemd), so start it by hand unless one already answers.
if ! docker info >/dev/null 2>&1; then
  if [ -d /run/systemd/system ]; then
    systemctl start docker >&2           # a real systemd host: use the unit
  elif ! pgrep -x dockerd -r D,R,S >/dev/null; then
    log "starting dockerd (log: $DOCKERD_LOG)"
    # After a kill -9, dockerd and its containerd linger here as zombies for a
    # while (PID 1 reaps late) and a new dockerd waits 60s on the stale
    # containerd pid file, then gives up. Hence -r above, and drop the pid files
    # unless they name a live process.
    rm -f /var/run/docker.pid
    cpid=$(cat /var/run/docker/containerd/containerd.pid 2>/dev/null || true)
    pgrep -x containerd -r D,R,S | grep -qx "${cpid:-none}" || rm -f /var/run/docker/containerd/containerd.pid
    # setsid + all fds redirected: dockerd outlives this script and does not
    # hold the caller's stdout open (which would hang `eval "$(...)"`).
    setsid /usr/sbin/dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  for ((i = 0; i < DOCKERD_TIMEOUT * 2; i++)); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || {
    tail -n 20 "$DOCKERD_LOG" >&2 || true
    die "dockerd did not answer within ${DOCKERD_TIMEOUT}s (see $DOCKERD_LOG)"
  }
fi

# --- 3. podman configuration ---------------------------------------------------
# Without default_ulimits every podman container fails to start here: podman
# raises RLIMIT_NOFILE/NPROC above this sandbox's hard limits and runc gets
# "error setting rlimit type 7/6: operation not permitted" (both are needed).
# runtime = "runc": the runtime this script installs (via docker.io); pinning it
# keeps podman off crun should that ever get installed.
CONF='# Written by sidecar-new scripts/e2e-setup.sh
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

[engine]
runtime = "runc"'
if [ "$(cat /etc/containers/containers.conf 2>/dev/null)" != "$CONF" ]; then
  if [ -e /etc/containers/containers.conf ] && [ ! -e /etc/containers/containers.conf.orig ]; then
    cp /etc/containers/containers.conf /etc/containers/containers.conf.orig
  fi
  log "writing /etc/containers/containers.conf"
  printf '%s\n' "$CONF" >/etc/containers/containers.conf
fi

# --- 4. local test images -------------------------------------------------------
# The base: a ~2 MB rootfs of Debian's static busybox plus one symlink per applet in /bin
# (sh, httpd, nc, wget, tail, sleep, ...), passwd/group naming the uids the tests and
# templates run as, and a /tmp. USER 10001 makes it behave like a hardened image even where a
# manifest forgets to set the user; generated output sets it anyway. No curl inside.
base_rootfs() {  # base_rootfs DIR
  mkdir -p "$1/bin" "$1/etc" "$1/tmp"
  chmod 1777 "$1/tmp"
  cp /bin/busybox "$1/bin/busybox"
  chroot "$1" /bin/busybox --install -s /bin
  # Programs that look their own user up (PostgreSQL refuses to start without a name for its
  # uid) find one for every uid the tests and the templates use.
  printf '%s\n' root:x:0:0:root:/root:/bin/sh app:x:10001:10001:app:/tmp:/bin/sh \
    u10002:x:10002:10001::/tmp:/bin/false u10003:x:10003:10001::/tmp:/bin/false \
    u65532:x:65532:65532::/tmp:/bin/false nobody:x:65534:65534:nobody:/nonexistent:/bin/false >"$1/etc/passwd"
  printf '%s\n' root:x:0: app:x:10001: u65532:x:65532: nobody:x:65534: >"$1/etc/group"
}

# Real programs from Debian's packages (no image registry is reachable): the package's own
# files (docs and man pages left out, and what EXCLUDE matches) on the busybox base, plus
# every shared library its ELF files need, as this host's loader resolves them (same Debian
# release, so same paths).
add_packages() {  # add_packages DIR PACKAGE...
  local root=$1 list=$work/files.txt; shift
  dpkg -L "$@" | grep -Ev '^/usr/share/(doc|man|lintian|bug)/' | grep -Ev "${EXCLUDE:-^$}" | while read -r f; do
    # Files and links to files; not folders, nor the host's merged-/usr links (/lib -> usr/lib).
    if [ -f "$f" ] || { [ -L "$f" ] && [ ! -d "$f" ]; }; then printf '%s\n' "${f#/}"; fi
  done >"$list"
  tar -C / --no-recursion -cf - -T "$list" | tar -C "$root" -xf -
  find "$root" -type f \( -perm /111 -o -name '*.so*' \) -print0 |
    while IFS= read -r -d '' f; do
      ldd "$f" 2>/dev/null || true  # not a dynamic ELF file (a script, data)
    done | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u | while read -r lib; do
      [ -e "$root$lib" ] || cp -L --parents "$lib" "$root"
    done
}

# links_in DIR LINK=TARGET...: symlinks an image needs that no copied package provides.
links_in() {
  local root=$1 pair; shift
  for pair in "$@"; do
    mkdir -p "$root$(dirname "${pair%%=*}")"
    ln -sfn "${pair#*=}" "$root${pair%%=*}"
  done
}

# build_image IMAGE "PACKAGE..." [--change ...]: idempotent; bump the tag when the recipe changes
# (the script skips images whose tag exists). Loaded into podman too (same ID): kube play finds
# it there and never pulls.
build_image() {
  local image=$1 packages=$2 root versions; shift 2
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    log "building $image"
    root=$(mktemp -d "$work/rootfs.XXXX")
    base_rootfs "$root"
    versions="busybox $(dpkg-query -W -f='${Version}' busybox-static)"
    if [ -n "$packages" ]; then
      # shellcheck disable=SC2086  # a list of package names
      add_packages "$root" $packages
      # shellcheck disable=SC2086  # LINK=TARGET words
      links_in "$root" ${LINKS:-}
      versions="$versions, $(dpkg-query -W -f='${Package} ${Version}, ' $packages)"
    fi
    tar -C "$root" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$root.tar" .
    # An imported image has no config at all: give it PATH (relative commands like `sh` then
    # work in docker, podman and kube play alike), a user, and what the caller adds.
    docker import --change 'ENV PATH=/bin:/usr/bin:/usr/sbin' --change 'USER 10001:10001' "$@" \
      --change "LABEL org.opencontainers.image.description=\"sidecar-new e2e test image: ${versions%, }\"" \
      "$root.tar" "$image" >/dev/null
    rm -rf "$root" "$root.tar"
  fi
  if ! podman image exists "$image"; then
    log "loading $image into podman"
    docker save "$image" | podman load -q >/dev/null
  fi
}

build_image "$IMAGE" "" --change 'CMD ["/bin/sh"]'
# The scraper for the metrics tests: Prometheus as prom/prometheus runs it.
build_image "$PROMETHEUS_IMAGE" "prometheus" --change 'ENTRYPOINT ["/usr/bin/prometheus"]'
# NGINX for the nginx template, run with its generated nginx.conf (`nginx` on PATH, as in
# nginxinc/nginx-unprivileged); its compiled-in error log goes to stderr as in that image.
LINKS="/var/log/nginx/error.log=/dev/stderr /var/log/nginx/access.log=/dev/stdout" \
  build_image "$NGINX_IMAGE" "nginx nginx-common"
# PgBouncer for the pgbouncer template, with pg_isready (its probe) and psql on PATH, as the
# edoburu/pgbouncer image has them (Debian's /usr/bin ones are perl wrappers: link the binaries).
LINKS="/usr/bin/pg_isready=/usr/lib/postgresql/15/bin/pg_isready /usr/bin/psql=/usr/lib/postgresql/15/bin/psql" \
  build_image "$PGBOUNCER_IMAGE" "pgbouncer postgresql-client-15"
# The database behind it: PostgreSQL 15 (initdb, postgres, pg_ctl in /usr/lib/postgresql/15/bin)
# and the zoneinfo its TimeZone setting is read from; without the JIT (LLVM would add 120 MB).
EXCLUDE='/llvmjit|/bitcode/' LINKS="/usr/bin/psql=/usr/lib/postgresql/15/bin/psql /usr/bin/pg_isready=/usr/lib/postgresql/15/bin/pg_isready" \
  build_image "$POSTGRES_IMAGE" "postgresql-15 postgresql-client-15 tzdata" \
  --change 'ENV PATH=/bin:/usr/bin:/usr/sbin:/usr/lib/postgresql/15/bin'

# --- 5. smoke tests --------------------------------------------------------------
for engine in docker podman; do
  out=$($engine run --rm "$IMAGE" /bin/sh -c 'echo ok' 2>&1 || true)
  [ "$out" = ok ] || die "$engine run $IMAGE did not print ok: $out"
done
# kube play also builds podman's pause image (from catatonit) on first use, so
# the tests' first pod does not pay for it. A bare Pod with restartPolicy Never:
# see the findings for what podman 4.3 does with init containers.
smoke=$work/smoke.yaml
cat >"$smoke" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: sidecar-new-e2e-smoke}
spec:
  restartPolicy: Never
  containers:
    - {name: smoke, image: "$IMAGE", command: [/bin/sh, -c, echo ok]}
EOF
podman kube play --replace "$smoke" >/dev/null || die "podman kube play failed"
timeout 60 podman wait sidecar-new-e2e-smoke-smoke >/dev/null
out=$(podman logs sidecar-new-e2e-smoke-smoke 2>&1)
podman kube down "$smoke" >/dev/null 2>&1
[ "$out" = ok ] || die "podman kube play pod did not print ok: $out"

log "ready in $((SECONDS - START))s: docker $(docker version -f '{{.Server.Version}}'), podman $(podman version -f '{{.Client.Version}}') (runc), image $IMAGE, dockerd log $DOCKERD_LOG"
echo "export SIDECAR_NEW_E2E_IMAGE=$IMAGE"
for var in PROMETHEUS NGINX PGBOUNCER POSTGRES; do
  image_var=${var}_IMAGE
  echo "export SIDECAR_NEW_E2E_${var}_IMAGE=${!image_var}"
done
