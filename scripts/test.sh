#!/usr/bin/env bash
# Sets up everything the tests need and runs the whole suite. Ends with a plain "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p test-artifacts
rm -f test-artifacts/vitest.json
CI=1 npx vitest run "$@"
status=$?
node -e '
  const fs = require("fs");
  let r;
  try { r = JSON.parse(fs.readFileSync("test-artifacts/vitest.json", "utf8")); } catch { console.log("0 passed, 1 failed"); process.exit(0); }
  const failedSuites = (r.testResults || []).filter((s) => s.status === "failed" && (s.assertionResults || []).length === 0).length;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + failedSuites} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
'
exit $status
