import * as ort from 'onnxruntime-node';
import { type DeviceRequest, type Placement } from './device.js';
import { placeOnDevice } from './place.js';

/** An onnxruntime session and where it really runs. */
export interface PlacedSession {
  readonly session: ort.InferenceSession;
  readonly placement: Placement;
}

/**
 * Opens an onnxruntime session on the requested device ({@link placeOnDevice}). Each session
 * lists one provider; onnxruntime itself still places shape operations on the CPU.
 */
export async function openPlacedSession(file: string, request: DeviceRequest, options: ort.InferenceSession.SessionOptions): Promise<PlacedSession> {
  const { opened, placement } = await placeOnDevice(request, {
    open: (device) => ort.InferenceSession.create(file, { ...options, executionProviders: [device] }),
    release: (session) => session.release(),
    missing: providerMissing,
  });
  return { session: opened, placement };
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
