import { CapserveError, messageOf } from '../../core/errors.js';
import { type Placement } from './device.js';
import { withGpuLock } from './gpu-lock.js';

/**
 * Runs a model's calls on its device. On the CPU it only passes them through. On an
 * accelerator it takes the process's WebGPU lock ({@link withGpuLock}) for webgpu, and treats a
 * failed run as a lost device: inputs were checked and the warm-up run succeeded, so a run that
 * throws means the device or its context broke (a reset GPU, a lost Vulkan device). The call
 * fails with DEVICE_UNAVAILABLE (503), every later call fails the same way at once, and
 * `alive` turns false, so the pool reloads the instance as it does a crashed worker.
 */
export class DeviceGuard {
  readonly #model: string;
  readonly #placement: Placement;
  #lost: string | undefined;

  constructor(model: string, placement: Placement) {
    this.#model = model;
    this.#placement = placement;
  }

  get alive(): boolean {
    return this.#lost === undefined;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    const { device } = this.#placement;
    if (device === 'cpu' || device === 'wasm') return work();
    if (this.#lost !== undefined) throw this.#error();
    try {
      return await (device === 'webgpu' ? withGpuLock(work) : work());
    } catch (error) {
      this.#lost = messageOf(error);
      throw this.#error();
    }
  }

  #error(): CapserveError {
    return new CapserveError('DEVICE_UNAVAILABLE', `model "${this.#model}": a run on ${this.#placement.device} failed (${this.#lost}); the instance reloads`, {
      details: { model: this.#model, device: this.#placement.device },
    });
  }
}
