/**
 * Which origin gets which `Authorization` value. A Map, so lookups stay as
 * they are, that prints its origins only: a download plan sits in the panel's
 * queue, and a notebook cell that shows the queue must not show a token.
 */
import { inspect } from 'node:util';

export class OriginCredentials extends Map<string, string> {
  [inspect.custom](): string {
    return `OriginCredentials { ${[...this.keys()].join(', ')} }`;
  }

  /** JSON of a plan or a job names the origins, never the values. */
  toJSON(): string[] {
    return [...this.keys()];
  }
}
