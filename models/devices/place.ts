import { CapserveError, messageOf } from '../../core/errors.js';
import { adapterOf } from './adapter.js';
import { candidatesFor, type DeviceRequest, type Placement } from './device.js';

/** What a runtime needs to place one model: open it on a device, release it, and what cannot even be tried. */
export interface PlacementSteps<T> {
  open(device: 'cpu' | 'webgpu' | 'cuda'): Promise<T>;
  release(opened: T): Promise<void>;
  /** Why a device cannot even be asked for (its provider is not built in), else undefined. @default every device may be tried */
  missing?(device: 'webgpu' | 'cuda'): string | undefined;
}

/**
 * Opens a model on the requested device, for every runtime that opens onnxruntime sessions (raw
 * sessions, transformers.js pipelines). `cpu`, `webgpu` and `cuda` are taken as asked: a device
 * that cannot start fails with DEVICE_UNAVAILABLE naming why (the provider library is missing,
 * no adapter), never a silent CPU model. Only `auto` falls back, trying cuda, then webgpu on a
 * hardware adapter (a software one such as lavapipe emulates the GPU on the CPU, slower than the
 * CPU provider itself, so only an explicit `webgpu` takes one), then cpu.
 */
export async function placeOnDevice<T>(request: DeviceRequest, steps: PlacementSteps<T>): Promise<{ opened: T; placement: Placement }> {
  const refusals: string[] = [];
  for (const device of candidatesFor(request)) {
    const missing = device === 'cpu' ? undefined : steps.missing?.(device);
    if (missing !== undefined) {
      refusals.push(`${device}: ${missing}`);
      continue;
    }
    let opened: T;
    try {
      opened = await steps.open(device);
    } catch (error) {
      // On the CPU every provider is there: the model itself is at fault, which is not a device error.
      if (device === 'cpu') throw error;
      refusals.push(`${device}: ${deviceRefusal(device, error)}`);
      continue;
    }
    const adapter = device === 'cpu' ? undefined : await adapterOf(device);
    if (request === 'auto' && adapter !== undefined && isSoftwareAdapter(adapter)) {
      await steps.release(opened);
      refusals.push(`${device}: only a software adapter (${adapter})`);
      continue;
    }
    return { opened, placement: { device, ...(adapter === undefined ? {} : { adapter }) } };
  }
  throw new CapserveError('DEVICE_UNAVAILABLE', `device "${request}" cannot start: ${refusals.join('; ')}`, {
    details: { device: request, reasons: refusals },
  });
}

/** onnxruntime's failure to start a device as the reason an operator can act on. */
function deviceRefusal(device: 'webgpu' | 'cuda', error: unknown): string {
  const message = messageOf(error);
  if (device === 'webgpu' && /adapter/i.test(message)) {
    return 'no WebGPU adapter: Dawn found no usable Vulkan device (install a Vulkan driver: NVIDIA\'s, or Mesa 25 lavapipe from bookworm-backports; VK_DRIVER_FILES picks one)';
  }
  if (device === 'cuda' && /shared library/i.test(message)) {
    return `the CUDA execution provider cannot load (${firstLine(message)}): onnxruntime-node installs its library only with ONNXRUNTIME_NODE_INSTALL=cuda12 (see Dockerfile.cuda), and it needs CUDA 12 and cuDNN 9`;
  }
  return firstLine(message);
}

/** Mesa's lavapipe (llvmpipe) and Google's SwiftShader run Vulkan on the CPU. */
export const isSoftwareAdapter = (adapter: string): boolean => /llvmpipe|lavapipe|swiftshader/i.test(adapter);

const firstLine = (text: string): string => (text.split('\n')[0] ?? text).slice(0, 300);
