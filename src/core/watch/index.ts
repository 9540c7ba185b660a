/** Watching library roots for model files that appear, change or go away (see watcher.ts). */
export { watchRoots, type Watcher, type WatchOptions, type WatchBatch } from './watcher';
export { shouldPoll } from './poll-mode';
