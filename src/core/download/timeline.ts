/**
 * A measuring aid, off by default: with `MODELDECK_DOWNLOAD_TIMELINE=<file>`
 * a download records when each phase and each connection's requests happened
 * (sent, headers, first byte, last byte) and the process writes them to that
 * file as JSON when it exits. `bench/download-timeline.js` reads it to show
 * where a download's time goes beyond the bandwidth floor. When the variable
 * is unset every call is one comparison, and nothing is kept.
 */
import { writeFileSync } from 'node:fs';

export interface TimelineEvent {
  /** Milliseconds since the epoch, sub-millisecond (the same clock as the fake servers' records). */
  t: number;
  what: string;
  [k: string]: unknown;
}

const file = process.env.MODELDECK_DOWNLOAD_TIMELINE;
const events: TimelineEvent[] = [];
if (file) {
  events.push({ t: performance.timeOrigin, what: 'process-start' });
  process.on('exit', () => {
    const cpu = process.cpuUsage();
    events.push({ t: now(), what: 'process-exit', userMs: cpu.user / 1000, systemMs: cpu.system / 1000 });
    writeFileSync(file, JSON.stringify(events));
  });
}

export const timelineOn = Boolean(file);

function now(): number {
  return performance.timeOrigin + performance.now();
}

export function mark(what: string, data?: Record<string, unknown>): void {
  if (file) events.push({ t: now(), what, ...data });
}
