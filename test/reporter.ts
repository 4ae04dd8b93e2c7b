// mocha's spec reporter, followed by a plain "N passed, N failed" line that CI systems can read, and one line for each
// reason tests were left pending (a missing upstream artifact, and how to get it). Test files run in worker processes
// (`parallel` in .mocharc.json): they append their reasons to a file this reporter names in the environment before the
// workers start, and it reads them back at the end of the run.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Mocha = require("mocha");
import { PENDING_REASONS_FILE_ENV, pendingReasons } from "../tools/upstream/artifacts";

class SpecWithSummary extends Mocha.reporters.Spec {
    constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
        super(runner, options);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-spire-pending-"));
        const file = path.join(dir, "reasons.txt");
        process.env[PENDING_REASONS_FILE_ENV] = file;
        runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
            const { passes, failures, pending } = this.stats;
            console.log(`${passes} passed, ${failures} failed${pending > 0 ? `, ${pending} skipped` : ""}`);
            const fromWorkers = fs.existsSync(file)
                ? fs
                      .readFileSync(file, "utf8")
                      .split("\n")
                      .filter((line) => line !== "")
                : [];
            for (const reason of new Set([...pendingReasons, ...fromWorkers])) {
                console.log(reason);
            }
            fs.rmSync(dir, { recursive: true, force: true });
        });
    }
}

export = SpecWithSummary;
