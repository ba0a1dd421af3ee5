#!/usr/bin/env bash
# Builds the agent and the demo, then runs the demo application once without and once with the agent.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -DskipTests package
agent=agent/target/tcp-hardening-agent.jar
demo=demo/target/demo.jar

echo "=== Without the agent: the kernel's defaults (keepalive off; 7200 s / 75 s / 9 when turned on)"
java -jar "$demo"
echo
echo "=== With the agent: java -javaagent:$agent=config=demo/agent.properties -jar $demo"
java "-javaagent:$agent=config=demo/agent.properties" -jar "$demo" 2>&1
