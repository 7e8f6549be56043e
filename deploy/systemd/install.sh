#!/bin/sh
# Installs k0s-etcdmember-exporter on a k0s controller from the unpacked release tarball: what docs/deploy.md,
# "Controllers that are not Kubernetes nodes", describes. Safe to run again; an upgrade is the same command. The
# executable and the units are replaced; exporter.env, web-config.yml, the kubeconfig and the TLS files, once
# there, are yours and kept.
#
#   sudo ./install.sh             install, reload systemd, restart the exporter if it runs, say what is missing
#   ./install.sh --root DIR       lay the files out under DIR instead of /, and leave systemd alone
set -eu

NAME=k0s-etcdmember-exporter
usage() {
  echo "usage: $0 [--root DIR]" >&2
  exit 2
}

root=
while [ $# -gt 0 ]; do
  case $1 in
    --root) [ $# -ge 2 ] || usage; root=$2; shift 2 ;;
    --root=*) root=${1#--root=}; shift ;;
    -h | --help) echo "usage: $0 [--root DIR]"; exit 0 ;;
    *) echo "$0: unknown argument '$1' (want --root DIR)" >&2; exit 2 ;;
  esac
done
if [ -n "$root" ]; then
  [ -d "$root" ] || { echo "$0: --root $root is not a directory" >&2; exit 2; }
  root=$(cd -- "$root" && pwd)
  [ "$root" != / ] || root=
fi
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)

for f in "$NAME" systemd/$NAME.service systemd/$NAME-restart.path systemd/$NAME-restart.service systemd/$NAME.env systemd/web-config.yml; do
  [ -f "$here/$f" ] || { echo "$0: $here/$f is missing: run install.sh from the unpacked release tarball" >&2; exit 1; }
done
# The executable must run on this host (architecture, C library) before it replaces a working one.
version=$("$here/$NAME" --version) || { echo "$0: $here/$NAME does not run on this host" >&2; exit 1; }
version=$(printf '%s\n' "$version" | head -n 1)

bin=$root/usr/local/bin
units=$root/etc/systemd/system
etc=$root/etc/$NAME
install -d -m 0755 "$bin" "$units"
install -d -m 0700 "$etc"
# A new file renamed over the old one: a running exporter keeps its executable until it restarts.
install -m 0755 "$here/$NAME" "$bin/.$NAME.new"
mv -f "$bin/.$NAME.new" "$bin/$NAME"
for u in $NAME.service $NAME-restart.path $NAME-restart.service; do
  install -m 0644 "$here/systemd/$u" "$units/$u"
done
[ -e "$etc/exporter.env" ] || install -m 0644 "$here/systemd/$NAME.env" "$etc/exporter.env"
[ -e "$etc/web-config.yml" ] || install -m 0600 "$here/systemd/web-config.yml" "$etc/web-config.yml"

# Releases before the single executable watched only k0s.yaml, with units of another name.
old_units=
for u in $NAME-k0s-config.path $NAME-k0s-config.service; do
  [ ! -e "$units/$u" ] || old_units="$old_units $u"
done
if [ -z "$root" ] && command -v systemctl >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  [ -z "$old_units" ] || systemctl disable --now $old_units >/dev/null 2>&1 || true
fi
for u in $old_units; do rm -f "$units/$u"; done

echo "installed $version"
echo "  $bin/$NAME"
echo "  $units/$NAME.service, $NAME-restart.path, $NAME-restart.service"
if [ -z "$root" ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload
  systemctl try-restart "$NAME.service"
fi

missing=
for f in kubeconfig web-tls.crt web-tls.key; do
  [ -e "$etc/$f" ] || missing="$missing $etc/$f"
done
if [ -n "$missing" ]; then
  echo "still needed before the first start (docs/deploy.md says how):"
  for f in $missing; do echo "  $f"; done
fi
if grep -q REPLACE-WITH-BCRYPT-HASH "$etc/web-config.yml"; then
  printf '  a bcrypt hash in %s: %s\n' "$etc/web-config.yml" "htpasswd -nBC 10 \"\" | tr -d ':\\n'"
fi
echo "then: systemctl enable --now $NAME.service $NAME-restart.path"
