/** The names of what modeldeck keeps in a library root (one place, so the store and the lock agree). */
export const INDEX_DIR = '.modeldeck';
export const SNAPSHOT_FILE = 'index.json';
export const JOURNAL_FILE = 'journal.jsonl';
