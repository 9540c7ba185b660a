/** The fake Civitai server: see server.ts. */
export { FakeCivitai, type FakeCivitaiOptions, type RequestRecord } from './server';
export { type Fault, type RouteName } from './faults';
export { type NewVersion, type NewFile, type Raw } from './records';
export { tinyJpeg, tinyPng, tinyWebp } from './images';
