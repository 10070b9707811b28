/** The Python runner (dist/runner-python/airlock_runner.py) against the shared protocol vectors of test/fixtures/protocol/. */
import path from "node:path";
import { protocolSuite } from "./helpers/protocol-suite.js";
import { ROOT } from "./helpers/project.js";

protocolSuite("python", ["python3", "-I", "-u", "-B", path.join(ROOT, "dist", "runner-python", "airlock_runner.py")]);
