import * as ort from 'onnxruntime-node';
import { CapserveError, messageOf } from '../../core/errors.js';
import { adapterOf } from './adapter.js';
import { candidatesFor, type DeviceRequest, type Placement } from './device.js';

/** An onnxruntime session and where it really runs. */
export interface PlacedSession {
  readonly session: ort.InferenceSession;
  readonly placement: Placement;
}

/**
 * Opens an onnxruntime session on the requested device. `cpu`, `webgpu` and `cuda` are taken as
 * asked: a device that cannot start fails with DEVICE_UNAVAILABLE naming why (the provider
 * library is missing, no adapter), never a silent CPU session. Only `auto` falls back, trying
 * cuda, then webgpu, then cpu. Each session lists one provider; onnxruntime itself still
 * places shape operations on the CPU.
 */
export async function openPlacedSession(file: string, request: DeviceRequest, options: ort.InferenceSession.SessionOptions): Promise<PlacedSession> {
  const candidates = candidatesFor(request);
  const refusals: string[] = [];
  for (const device of candidates) {
    const missing = device === 'cpu' ? undefined : providerMissing(device);
    if (missing !== undefined) {
      refusals.push(`${device}: ${missing}`);
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(file, { ...options, executionProviders: [device] });
      const adapter = device === 'cpu' ? undefined : await adapterOf(device);
      // `auto` wants speed: a software adapter (lavapipe) emulates the GPU on the CPU, slower than
      // the CPU provider itself, so only an explicit `webgpu` takes one.
      if (request === 'auto' && adapter !== undefined && isSoftwareAdapter(adapter)) {
        await session.release();
        refusals.push(`${device}: only a software adapter (${adapter})`);
        continue;
      }
      return { session, placement: { device, ...(adapter === undefined ? {} : { adapter }) } };
    } catch (error) {
      // On the CPU every provider is there: the model itself is at fault, which is not a device error.
      if (device === 'cpu') throw error;
      refusals.push(`${device}: ${deviceRefusal(device, error)}`);
    }
  }
  throw new CapserveError('DEVICE_UNAVAILABLE', `device "${request}" cannot start: ${refusals.join('; ')}`, {
    details: { device: request, reasons: refusals },
  });
}

/**
 * Why a provider cannot even be asked for. Only webgpu can be told in advance (onnxruntime-node
 * lists it when its build has it); whether the CUDA provider is there shows only when it loads,
 * since `ONNXRUNTIME_NODE_INSTALL=cuda12` adds its libraries beside a build that lists it as not bundled.
 */
function providerMissing(device: 'webgpu' | 'cuda'): string | undefined {
  if (device === 'cuda') return undefined;
  return ort.listSupportedBackends().some((entry) => entry.name === 'webgpu') ? undefined : 'this onnxruntime-node build has no WebGPU execution provider';
}

/** onnxruntime's failure to start a device as the reason an operator can act on (also for transformers.js, which opens onnxruntime sessions). */
export function deviceRefusal(device: 'webgpu' | 'cuda', error: unknown): string {
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
