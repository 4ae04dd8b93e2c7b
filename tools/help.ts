// `--help` and `-h` of the command-line tools under tools/: anywhere among the arguments it wins over every other
// argument, and the tool prints its help on stdout and exits 0 before it reads or does anything (test/help.test.ts).

/** Whether the arguments ask for the help. */
export function wantsHelp(argv: readonly string[]): boolean {
    return argv.some((arg) => arg === "--help" || arg === "-h");
}
