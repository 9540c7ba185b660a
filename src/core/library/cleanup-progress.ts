/**
 * Progress of a duplicate clean-up: every file of the plan is read once (the
 * kept file of each group, then each copy), so the total is known before the
 * first byte and the bar moves with the bytes verified.
 */
import type { CleanupStep, DuplicateCopy } from './dupes';

export interface CleanupProgress {
  /** Files of the plan read so far (kept files included), of `filesTotal`. */
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** Copies handled (removed, linked or left alone with a reason), of `copiesTotal`. */
  copiesDone: number;
  copiesTotal: number;
  /** The file being read, or null between files. */
  current: string | null;
}

export function cleanupProgress(steps: readonly CleanupStep[], onProgress?: (p: CleanupProgress) => void) {
  const files = steps.flatMap((s) => [s.keep, ...s.remove]);
  const p: CleanupProgress = {
    filesDone: 0,
    filesTotal: files.length,
    bytesDone: 0,
    bytesTotal: files.reduce((n, c) => n + c.size, 0),
    copiesDone: 0,
    copiesTotal: steps.reduce((n, s) => n + s.remove.length, 0),
    current: null,
  };
  let before = 0;
  const emit = () => onProgress?.({ ...p });
  return {
    /** The hash engine's callback while `copy` is read. */
    reading(copy: DuplicateCopy): ((done: number) => void) | undefined {
      if (!onProgress) return undefined;
      before = p.bytesDone;
      p.current = copy.absolute;
      emit();
      return (done: number) => {
        p.bytesDone = before + Math.min(done, copy.size);
        emit();
      };
    },
    /** `copy` was read (and, for a copy, handled). */
    fileDone(copy: DuplicateCopy, copies: 0 | 1): void {
      p.filesDone++;
      p.copiesDone += copies;
      p.bytesDone = Math.max(p.bytesDone, before + copy.size);
      before = p.bytesDone;
      p.current = null;
      emit();
    },
  };
}
