#!/usr/bin/env bash
# Installs the system programs the loopback labs run: nsd, unbound, dig and the ldns tools for the DNS lab
# (tests/dnslab), and PostgreSQL + PgBouncer for the pooler lab (tests/pglab: real PgBouncer in front of real
# PostgreSQL, both on 127.0.0.1 with TLS), and what the sandbox's stand-in platform runs: nginx with ModSecurity
# and the OWASP core rule set (the edge), Redis (the cache), ffmpeg (the HLS segments), Chromium (the report page)
# and wrk (the latency bench's anchor).
# Idempotent: does nothing when they are all present; runs `apt-get update` only when apt knows none of them.
# The distro services must not come up: Debian's nsd listens on 0.0.0.0:53, which would stop the lab binding
# 127.53.x.x:53 (and the packaged postgresql/pgbouncer would hold 5432/6432 for nothing), so the install runs
# under a deny-all policy-rc.d and the units are disabled afterwards. The labs start their own private daemons.
set -euo pipefail

packages=(nsd unbound dnsutils ldnsutils postgresql pgbouncer nginx-light libnginx-mod-http-modsecurity modsecurity-crs
          redis-server ffmpeg chromium wrk)
# program -> the package that brings it (the lab calls each of these)
declare -A provider=(
  [nsd]=nsd [nsd-checkconf]=nsd
  [unbound]=unbound [unbound-control]=unbound
  [dig]=dnsutils
  [ldns-keygen]=ldnsutils [ldns-signzone]=ldnsutils [ldns-key2ds]=ldnsutils
  [initdb]=postgresql [pg_ctl]=postgresql [postgres]=postgresql [psql]=postgresql
  [pgbouncer]=pgbouncer
  [nginx]=nginx-light [redis-server]=redis-server [ffmpeg]=ffmpeg [chromium]=chromium [wrk]=wrk
)
# files (not programs) that packages bring
declare -A provider_file=(
  [/usr/lib/nginx/modules/ngx_http_modsecurity_module.so]=libnginx-mod-http-modsecurity
  [/usr/share/modsecurity-crs/rules/REQUEST-942-APPLICATION-ATTACK-SQLI.conf]=modsecurity-crs
)

have() {
  # sbin is often missing from a non-root PATH, so look there too; Debian keeps the PostgreSQL server
  # programs (initdb, pg_ctl, postgres) off PATH in /usr/lib/postgresql/<major>/bin
  if command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/local/sbin/$1" ]; then
    return 0
  fi
  local candidate
  for candidate in /usr/lib/postgresql/*/bin/"$1"; do
    [ -x "$candidate" ] && return 0
  done
  return 1
}

missing=()
for prog in "${!provider[@]}"; do
  if ! have "$prog"; then
    pkg=${provider[$prog]}
    [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
  fi
done

for file in "${!provider_file[@]}"; do
  if [ ! -e "$file" ]; then
    pkg=${provider_file[$file]}
    [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install_system_deps: nsd, unbound, dig, ldns tools, PostgreSQL, PgBouncer, nginx + ModSecurity + CRS, Redis, ffmpeg, Chromium and wrk are present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install_system_deps: missing package(s): ${missing[*]}" >&2
  echo "install_system_deps: run this script as root, or: sudo apt-get install -y ${packages[*]}" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_system_deps: no apt-get here; install these with the system's package manager: ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# Refresh the package lists only when apt cannot see the packages (a fresh container has empty lists).
if ! apt-cache show --no-all-versions "${packages[@]}" >/dev/null 2>&1; then
  apt-get update -qq
fi

# Keep maintainer scripts from starting the daemons: invoke-rc.d and deb-systemd-invoke both obey
# policy-rc.d, and exit code 101 means "action forbidden". An existing policy is left as it is.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# installed for the duration of tools/install_system_deps.sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  made_policy=1
fi
cleanup() {
  if [ "$made_policy" -eq 1 ]; then rm -f "$policy"; fi
}
trap cleanup EXIT

apt-get install -y -qq "${packages[@]}"

# Not enabled at boot and not running now. With systemd as PID 1 `disable --now` does both; without it
# (containers) systemctl may still edit the unit links offline, and the SysV links go through update-rc.d.
# Every step is best effort: what matters is that the install succeeded. Only a service this run installed
# is touched: an nsd, unbound, postgresql or pgbouncer the machine already ran on purpose is left alone.
for svc in nsd unbound postgresql pgbouncer nginx-light redis-server; do
  unit=${svc%-light}
  [[ " ${missing[*]} " == *" $svc "* ]] || continue
  svc=$unit
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  else
    if command -v systemctl >/dev/null 2>&1; then
      systemctl disable "$svc" >/dev/null 2>&1 || true
    fi
    if command -v update-rc.d >/dev/null 2>&1 && [ -e "/etc/init.d/$svc" ]; then
      update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
    if [ "$made_policy" -eq 0 ] && command -v service >/dev/null 2>&1; then
      # an existing policy may have allowed the start: stop what the package started
      service "$svc" stop >/dev/null 2>&1 || true
    fi
  fi
done

for prog in "${!provider[@]}"; do
  if ! have "$prog"; then
    echo "install_system_deps: $prog is still missing after installing ${packages[*]}" >&2
    exit 1
  fi
done
echo "install_system_deps: installed ${missing[*]} (services left stopped and disabled)"
