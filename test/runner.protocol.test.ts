/** The Node runner (dist/runner.mjs) against the shared protocol vectors of test/fixtures/protocol/. */
import path from "node:path";
import { protocolSuite } from "./helpers/protocol-suite.js";
import { ROOT } from "./helpers/project.js";

protocolSuite("node", [process.execPath, path.join(ROOT, "dist", "runner.mjs")]);
