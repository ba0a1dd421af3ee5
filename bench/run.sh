#!/usr/bin/env bash
# The benchmarks of issue 21 ("Cost"), in one command on a fresh machine: builds the agent and the benchmarks, then,
# for each JDK under /usr/lib/jvm and the default `java`, prints every figure beside its baselines measured in the same
# run and each target met or missed, with a table of the targets at the end; all of it also in bench/target/results.md.
#   start-up      the one-connection program and a large app (>= 10,000 classes), beyond a do-nothing agent, paired
#   connection    Socket, SocketChannel, AsynchronousSocketChannel, Netty epoll and io_uring: agent at warn and at
#                 info / the five options set by hand (whole processes, interleaved)
#   storm         8 threads of connections, log info / log off, and the lines lost
#   memory        100,000 connections: growth per connection, the agent's fixed heap and metaspace
# About 21 minutes for two JDKs on this project's 2-core machine with other work on it (2026-12-03, load average 3-6:
# startup 8.6, connection 10.3, storm and memory 2.2 minutes; more when the machine is busier); --quick about 6.
# --only startup,connection,storm,memory runs some parts; --jdk 17 one JDK.
# Not part of the default run, only when named: steady (JMH, steady traffic), rules (ten rules against none, about
# 20 min for two JDKs), probe-storm (issue 19, about 3.5 minutes per variant; see bench/probe-storm.md) and
# probe-storm-attach (the same with and without a re-attach lowering user_timeout while the probes are due).
# The machine's load average is printed beside each part: other work on the two cores moves every figure.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -DskipTests package -pl agent,bench -am
if [ ! -e /usr/lib/libkeepalive.so ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  { apt-get install -y -qq libkeepalive0 || { apt-get update -qq && apt-get install -y -qq libkeepalive0; }; } \
    >/dev/null 2>&1 || echo "(libkeepalive0 could not be installed: its rows are skipped)"
fi
exec java -cp "bench/target/classes:$(cat bench/target/classpath.txt)" io.tcphardening.bench.BenchMain \
  --agent agent/target/tcp-hardening-agent.jar "$@"
