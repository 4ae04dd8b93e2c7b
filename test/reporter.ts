// mocha's spec reporter, followed by a plain "N passed, N failed" line that CI systems can read, and one line for each
// reason tests were left pending (a missing upstream artifact, and how to get it).
import Mocha = require("mocha");
import { pendingReasons } from "./artifacts";

class SpecWithSummary extends Mocha.reporters.Spec {
    constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
        super(runner, options);
        runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
            const { passes, failures, pending } = this.stats;
            console.log(`${passes} passed, ${failures} failed${pending > 0 ? `, ${pending} skipped` : ""}`);
            for (const reason of pendingReasons) {
                console.log(reason);
            }
        });
    }
}

export = SpecWithSummary;
