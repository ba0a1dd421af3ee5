#!/usr/bin/env bash
# The benchmarks, in one command on a fresh machine: builds the agent and the benchmarks, then prints every figure of
# the benchmarks issue with its ratio, for each JDK under /usr/lib/jvm, and writes them to bench/target/results.md.
# About 18 minutes for two JDKs (JMH and the storm run several interleaved forks per variant); --quick about 9
# (connection, steady and storm alone took 6.3 min with --quick); --only startup,storm runs just those parts
# (also: connection, steady, memory, and rules: ten rules against none, start-up and per connection, about 20 min
# for two JDKs). --only probe-storm --jdk 17 runs the probe storm of issue 19 (idle connections whose keepalive probes
# fall due together), never part of the default run: about 3.5 minutes per variant; --only probe-storm-attach the
# same with and without a re-attach lowering user_timeout while the probes are due; see bench/probe-storm.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -DskipTests package -pl agent,bench -am
if [ ! -e /usr/lib/libkeepalive.so ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  { apt-get install -y -qq libkeepalive0 || { apt-get update -qq && apt-get install -y -qq libkeepalive0; }; } \
    >/dev/null 2>&1 || echo "(libkeepalive0 could not be installed: its rows are skipped)"
fi
exec java -cp "bench/target/classes:$(cat bench/target/classpath.txt)" io.tcphardening.bench.BenchMain \
  --agent agent/target/tcp-hardening-agent.jar "$@"
