#!/usr/bin/env bash
# Sets up everything the tests need and runs the whole suite. Ends with a plain "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
# The kubernetes tests need the test cluster: start it when none runs, and stop it afterwards only if this run
# started it (a cluster someone else runs is left alone; a half-started one of ours is stopped too). A failed
# start is reported by those tests themselves.
k8s_started=0
if ! bash scripts/k8s/cluster.sh status >/dev/null 2>&1; then
  k8s_started=1
  bash scripts/k8s/cluster.sh up >/dev/null || echo "test: the kubernetes test cluster did not start"
fi
mkdir -p test-artifacts
rm -f test-artifacts/vitest.json
CI=1 npx vitest run "$@"
status=$?
[ "$k8s_started" = 1 ] && bash scripts/k8s/cluster.sh down
node -e '
  const fs = require("fs");
  let r;
  try { r = JSON.parse(fs.readFileSync("test-artifacts/vitest.json", "utf8")); } catch { console.log("0 passed, 1 failed"); process.exit(0); }
  const failedSuites = (r.testResults || []).filter((s) => s.status === "failed" && (s.assertionResults || []).length === 0).length;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + failedSuites} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
'
exit $status
