#!/usr/bin/env bash
# Install a QueueCast edge agent (kiosk or call display) on a Debian / Raspberry Pi OS device, as
# an appliance: only the agent's runtime (requirements-agent.txt) in its own virtualenv, no npm,
# no server, no test tools; a systemd unit that starts it at boot and restarts it if it stops.
#
#   sudo deploy/agent/install.sh display      # or: totem
#
# Run from a checkout (or a copy) of the repository. Then edit /etc/queuecast/<agent>.env (API
# address, tenant) and put the device token in /etc/queuecast/tokens/<agent>.token, and
# `systemctl restart queuecast-agent@<agent>`. Running it again upgrades in place and keeps both.
#
# Environment (for packaging and for the tests, which install into a temporary folder):
#   PREFIX=/opt/queuecast        code and virtualenv
#   CONF_DIR=/etc/queuecast      <agent>.env and tokens/<agent>.token
#   SYSTEMD_DIR=/etc/systemd/system
#   AGENT_USER=queuecast         the user the unit runs as (created when root)
#   NO_APT=1                     skip apt-get (python3-venv, espeak-ng, fonts-dejavu-core)
#   NO_SYSTEMCTL=1               write the unit but do not enable or start it
set -euo pipefail

agent="${1:-}"
case "$agent" in
  display|totem) ;;
  *) echo "usage: $0 display|totem" >&2; exit 2 ;;
esac

source_dir="$(cd "$(dirname "$0")/../.." && pwd)"
prefix="${PREFIX:-/opt/queuecast}"
conf_dir="${CONF_DIR:-/etc/queuecast}"
systemd_dir="${SYSTEMD_DIR:-/etc/systemd/system}"
agent_user="${AGENT_USER:-queuecast}"
is_root=$([ "$(id -u)" = 0 ] && echo 1 || echo 0)

say() { printf 'queuecast: %s\n' "$*"; }

if [ "${NO_APT:-0}" != 1 ] && [ "$is_root" = 1 ]; then
  say "installing Debian packages (python3-venv, espeak-ng, fonts-dejavu-core)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    python3 python3-venv espeak-ng fonts-dejavu-core >/dev/null
fi

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "queuecast: Python 3.11 or newer is needed (Debian 12 / Raspberry Pi OS bookworm)" >&2; exit 1; }

if [ "$is_root" = 1 ] && ! id "$agent_user" >/dev/null 2>&1; then
  say "creating user $agent_user"
  useradd --system --create-home --shell /usr/sbin/nologin "$agent_user"
  # Screen (KMS/DRM), sound, touch and a USB printer, without a desktop session.
  for group in video render audio input lp; do
    getent group "$group" >/dev/null && usermod -aG "$group" "$agent_user"
  done
fi

say "copying the agent code to $prefix/app"
mkdir -p "$prefix/app"
# Only what the agents import: the contract, the MQTT client, the shared agent code and both
# agents.
for package in protocol mqtt_link edge totem_agent display_agent; do
  rm -rf "${prefix:?}/app/$package"
  cp -R "$source_dir/$package" "$prefix/app/$package"
done
find "$prefix/app" -name __pycache__ -type d -prune -exec rm -rf {} +
cp "$source_dir/requirements-agent.txt" "$prefix/app/"

say "installing the agent's runtime into $prefix/venv"
[ -x "$prefix/venv/bin/python" ] || python3 -m venv "$prefix/venv"
"$prefix/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r "$prefix/app/requirements-agent.txt"

mkdir -p "$conf_dir"
env_file="$conf_dir/$agent.env"
if [ ! -f "$env_file" ]; then
  say "writing $env_file (edit it: API address and tenant)"
  sed -e "s|@CONF_DIR@|$conf_dir|g" -e "s|@AGENT@|$agent|g" \
    "$source_dir/deploy/agent/agent.env.example" >"$env_file"
fi
# The agent renews its token a month before expiry by writing a new file and renaming it over the
# old one, so the folder (not only the file) belongs to the agent's user, and nobody else reads it.
token_dir="$conf_dir/tokens"
token_file="$token_dir/$agent.token"
mkdir -p "$token_dir"
[ -f "$token_file" ] || : >"$token_file"
chmod 700 "$token_dir"
chmod 600 "$token_file"
if [ "$is_root" = 1 ] && id "$agent_user" >/dev/null 2>&1; then
  chown "$agent_user" "$token_dir" "$token_file"
fi

mkdir -p "$systemd_dir"
unit="$systemd_dir/queuecast-agent@.service"
sed -e "s|@PREFIX@|$prefix|g" -e "s|@CONF_DIR@|$conf_dir|g" -e "s|@AGENT_USER@|$agent_user|g" \
  "$source_dir/deploy/agent/queuecast-agent@.service" >"$unit"
say "wrote $unit"

if [ "${NO_SYSTEMCTL:-0}" != 1 ] && [ "$is_root" = 1 ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable "queuecast-agent@$agent" >/dev/null
  if [ -s "$token_file" ]; then
    systemctl restart "queuecast-agent@$agent"
    say "started queuecast-agent@$agent"
  else
    say "enabled queuecast-agent@$agent; put the device token in $token_file, then: systemctl start queuecast-agent@$agent"
  fi
else
  say "systemd not driven (not root, no systemd, or NO_SYSTEMCTL=1)"
fi
