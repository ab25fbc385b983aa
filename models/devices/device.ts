/** Devices a model may ask for. `auto` takes the best that starts: cuda, then webgpu on a hardware adapter, then cpu. */
export const deviceRequests = ['cpu', 'webgpu', 'cuda', 'auto'] as const;
export type DeviceRequest = (typeof deviceRequests)[number];

/** Devices a model really runs on (onnxruntime execution providers); `wasm` is TF.js's CPU backend. */
export type Device = 'cpu' | 'webgpu' | 'cuda' | 'wasm';

/** What runs a model: the device, and for an accelerator the adapter behind it (e.g. "llvmpipe (LLVM 19.1.7, 256 bits)", "NVIDIA H200"). */
export interface Placement {
  readonly device: Device;
  readonly adapter?: string;
}

/** The devices to try for a request, in order; only `auto` has more than one. */
export function candidatesFor(request: DeviceRequest): readonly Exclude<Device, 'wasm'>[] {
  return request === 'auto' ? ['cuda', 'webgpu', 'cpu'] : [request];
}
