/**
 * The full-size memory check of the connection budget: 500 connections each sending 95 MiB of a
 * frame (47 GiB announced) to a broker with the default 256 MiB budget. Too heavy for `npm test`;
 * run with `npm run test:hardening-memory` (exit code 1 when the peak RSS passes the limit).
 */
import { describeFigures, sendPartialFrames } from './partial-frames.js';

const MiB = 2 ** 20;
const connections = Number(process.env.PARTIAL_FRAME_CONNECTIONS ?? 500);
const frameBytes = Number(process.env.PARTIAL_FRAME_MIB ?? 95) * MiB;
const figures = await sendPartialFrames({ connections, frameBytes, budgetBytes: 256 * MiB }, () => undefined);
console.log(describeFigures(figures));
const ok = figures.peakRss <= figures.limit && figures.servedAfterClose;
console.log(ok ? 'ok: peak RSS within the limit' : 'FAILED: peak RSS above the limit');
process.exit(ok ? 0 : 1);
