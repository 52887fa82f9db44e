import {setFlagsFromString} from 'node:v8';

/**
 * How far V8 lets the heap grow past what a full GC left alive, in percent: 300 (×4,
 * where V8 picks ×1.1–×2 for a small heap that it collects quickly). V8 reads it anew at
 * every full GC, so setting it at run time takes effect from the next one.
 *
 * Why: V8 starts a full GC once the old generation plus the external memory allocated
 * since the last one pass that limit, and a transfer receives its bytes in 64 KiB buffers
 * (external memory) that a young-generation GC frees only every ~32 MiB. With this CLI's
 * ~14 MiB of live heap the limit sat 8–24 MiB above it, so the buffers in flight crossed
 * it again and again: a 1 GiB download often set off 30–50 full GCs (~0.7 s of CPU, most
 * on the marking threads), 4 GiB ~250. With ×4: 1–2 full GCs. Not ×5: it pushed the
 * peak RSS of a 4 GiB download to a file to 161 MiB (×4: 149; the limit is 150).
 */
export const HEAP_GROWING_PERCENT = 300;

/** Gives the heap room for a transfer's buffers (see HEAP_GROWING_PERCENT); for the whole process. */
export function makeRoomForTransferBuffers(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
