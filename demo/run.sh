#!/usr/bin/env bash
# The demo, in one command on a fresh machine. Builds the agent and the demo application, puts a client and a server
# on two hosts (network namespaces joined by a veth pair), pulls the cable between them, and shows how long the
# unmodified client takes to notice each dead connection: without the agent, with Debian's libkeepalive, and with
# the agent (demo/agent.properties). Writes the same result as a chart: demo/target/cable-pull.svg. Then the rules
# scene (demo/rules.properties, about 25 s): one application's connections to two services behind the same cable,
# the database's under a short rule and the other's under the global settings, each beside its own bound.
#
# Needs root and iproute2, or unprivileged user namespaces. Without either, it shows instead the options the agent
# applies, read back from the kernel.
set -euo pipefail
cd "$(dirname "$0")/.."

mvn -q -B -DskipTests package -pl agent,demo -am
agent=agent/target/tcp-hardening-agent.jar
pull=(java -cp "demo/target/demo.jar:demo/target/lib/*" io.tcphardening.demo.CablePull
      --agent "$agent" --config demo/agent.properties --rules-config demo/rules.properties
      --svg demo/target/cable-pull.svg --window 30)

if [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
  if [ ! -e /usr/lib/libkeepalive.so ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's libkeepalive0 for the comparison column ..."
    { apt-get install -y -qq libkeepalive0 || { apt-get update -qq && apt-get install -y -qq libkeepalive0; }; } \
      >/dev/null 2>&1 || echo "(libkeepalive0 could not be installed: its column is skipped)"
  fi
  exec "${pull[@]}"
fi

if command -v ip >/dev/null && command -v unshare >/dev/null \
   && unshare --user --map-root-user --net --mount true 2>/dev/null; then
  echo "Not root: pulling the cable inside an unprivileged user namespace."
  exec unshare --user --map-root-user --net --mount -- \
    bash -c 'mount -t tmpfs tmpfs /run && mkdir -p /run/netns && exec "$@"' bash "${pull[@]}"
fi

cat <<'TEXT'
The cable pull needs two network namespaces, and this machine gives none:
  - as root, it needs iproute2 ('ip'): apt-get install iproute2;
  - as another user, it needs unprivileged user namespaces (user.max_user_namespaces > 0, and on Debian
    kernel.unprivileged_userns_clone = 1) and 'unshare' from util-linux.
Showing instead the options the agent applies, read back from the kernel.

TEXT
echo "=== Without the agent: the kernel's defaults"
java -jar demo/target/demo.jar
echo
echo "=== With the agent: java -javaagent:$agent=config=demo/agent.properties -jar demo/target/demo.jar"
java "-javaagent:$agent=config=demo/agent.properties" -jar demo/target/demo.jar 2>&1
