import { type Test } from 'tap';
import { isCapserveError } from '../../core/errors.js';
import { openPlacedSession } from '../../models/devices/open-session.js';
import { tinyBertDir } from './tiny-bert.js';

let probe: Promise<string | undefined> | undefined;

/** Undefined when this process can open a WebGPU session, else why not (probed once, on the tiny BERT). */
function webgpuMissing(): Promise<string | undefined> {
  probe ??= (async () => {
    try {
      const { session } = await openPlacedSession(`${await tinyBertDir()}/onnx/model.onnx`, 'webgpu', {});
      await session.release();
      return undefined;
    } catch (error) {
      if (isCapserveError(error) && error.code === 'DEVICE_UNAVAILABLE') return error.message;
      throw error;
    }
  })();
  return probe;
}

/**
 * True when WebGPU runs here (a Vulkan driver Dawn accepts: Mesa 25 lavapipe, NVIDIA's). On a
 * developer machine without one the test is skipped; in CI (`CI=true`, where .ci/run installs
 * lavapipe) it fails, so the device path is never silently untested.
 */
export async function hasWebgpu(t: Test): Promise<boolean> {
  const missing = await webgpuMissing();
  if (missing === undefined) return true;
  if (process.env.CI === 'true') t.fail(`WebGPU is unavailable in CI: ${missing}`);
  else t.skip(`WebGPU is unavailable here (${missing}); .ci/run installs Mesa lavapipe`, () => {});
  return false;
}

/** Largest absolute difference between two lists of vectors of the same shape (Infinity when the shapes differ). */
export function maxAbsDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  a.forEach((row, i) => {
    const other = b[i];
    if (other === undefined || other.length !== row.length) max = Infinity;
    else row.forEach((value, k) => (max = Math.max(max, Math.abs(value - (other[k] ?? NaN)))));
  });
  return max;
}
