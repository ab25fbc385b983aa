import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Names the adapter behind a device, for `/capabilities`, `/stats` and `capserve_model_info`:
 * what an operator needs to tell lavapipe (Mesa's software Vulkan) from an NVIDIA GPU.
 * onnxruntime does not report the adapter Dawn chose, so this asks the system: `vulkaninfo`
 * (Debian `vulkan-tools`) for webgpu when it is installed, else the Vulkan ICD manifests
 * (VK_DRIVER_FILES / VK_ICD_FILENAMES, else the standard folders); `nvidia-smi` for cuda.
 * Best effort: undefined when nothing answers. Each answer is computed once per process.
 */
export function adapterOf(device: 'webgpu' | 'cuda', env: Readonly<Record<string, string | undefined>> = process.env): Promise<string | undefined> {
  const key = `${device}:${env.VK_DRIVER_FILES ?? ''}:${env.VK_ICD_FILENAMES ?? ''}`;
  let answer = cache.get(key);
  if (answer === undefined) {
    answer = (device === 'cuda' ? nvidiaGpu() : vulkanDevice(env)).catch(() => undefined);
    cache.set(key, answer);
  }
  return answer;
}

const cache = new Map<string, Promise<string | undefined>>();

async function nvidiaGpu(): Promise<string | undefined> {
  const { stdout } = await run('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { timeout: 5000 });
  return stdout.split('\n')[0]?.trim() || undefined;
}

async function vulkanDevice(env: Readonly<Record<string, string | undefined>>): Promise<string | undefined> {
  try {
    const { stdout } = await run('vulkaninfo', ['--summary'], { timeout: 5000, env: { ...process.env, ...env } });
    const name = /deviceName\s*=\s*(.+)/.exec(stdout)?.[1]?.trim();
    if (name !== undefined) return name;
  } catch {
    // No vulkan-tools: read the driver manifests instead.
  }
  const drivers = await icdLibraries(env);
  return drivers.length === 0 ? undefined : drivers.map(describeDriver).join(' or ');
}

/** The driver libraries of the Vulkan ICD manifests the loader would read. */
async function icdLibraries(env: Readonly<Record<string, string | undefined>>): Promise<string[]> {
  const named = (env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES)?.split(':').filter(Boolean);
  const files = named ?? (await manifestsIn(['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d']));
  const libraries: string[] = [];
  for (const file of files) {
    try {
      const manifest = JSON.parse(await readFile(file, 'utf8')) as { ICD?: { library_path?: unknown } };
      if (typeof manifest.ICD?.library_path === 'string') libraries.push(path.basename(manifest.ICD.library_path));
    } catch {
      // A manifest that cannot be read names no driver.
    }
  }
  return libraries;
}

async function manifestsIn(folders: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const folder of folders) {
    const names = await readdir(folder).catch(() => [] as string[]);
    found.push(...names.filter((name) => name.endsWith('.json')).map((name) => path.join(folder, name)));
  }
  return found;
}

/** A driver library as people call it: Mesa's software rasteriser is "lavapipe". */
function describeDriver(library: string): string {
  if (library.includes('lvp')) return 'lavapipe (Mesa software Vulkan)';
  if (library.includes('nvidia')) return 'NVIDIA Vulkan driver';
  return library;
}
