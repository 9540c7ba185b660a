/**
 * How long a test waits for an event before it calls it a hang.
 *
 * Tests wait for events (a reply carrying the request's id, the state asked
 * for, a process's own output), never for time to pass. The limit only turns
 * a hang into a readable failure, so it is long: on a loaded machine (a
 * browser, a build, another test run beside this one) a process can stall for
 * many seconds without anything being wrong. docs/architecture.md, "How tests
 * wait", has the rules.
 */
export const WAIT_MS = 120_000;
