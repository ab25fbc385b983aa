import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CapserveError } from '../../core/errors.js';
import { diffManifests, type Manifest, type ManifestDiff, manifestSchema } from './manifest.js';

/** A version folder whose `manifest.json` is missing, unreadable or invalid. */
export interface BrokenVersion {
  readonly version: number;
  /** Why, naming the manifest relative to the repository (never an absolute path or its contents). */
  readonly reason: string;
}

/** One model of the repository with its versions, newest last. */
export interface RepositoryModel {
  readonly name: string;
  /** The version `default` resolves to: the `default` file's, else the newest (broken versions count). */
  readonly defaultVersion: number;
  /** The versions whose manifests are valid. */
  readonly versions: readonly Manifest[];
  /** Versions whose manifests cannot be read; present only when there are any (the model is then broken). */
  readonly broken?: readonly BrokenVersion[];
}

const DEFAULT_FILE = 'default';
const NAME = /^[a-z0-9][a-z0-9_.-]*$/i;

/**
 * The model repository (MODEL_REPOSITORY): `<model>/<version>/manifest.json` plus the files it
 * lists with their SHA-256, and an optional `<model>/default` holding the default version.
 * Names from clients are checked against the folders found, never joined into paths unchecked.
 */
export class ModelRepository {
  readonly root: string;
  #writing: Promise<unknown> = Promise.resolve();

  constructor(root: string) {
    this.root = root;
  }

  async list(): Promise<RepositoryModel[]> {
    let entries: string[];
    try {
      entries = (await readdir(this.root, { withFileTypes: true })).filter((e) => e.isDirectory() && NAME.test(e.name)).map((e) => e.name);
    } catch {
      return [];
    }
    const models = await Promise.all(entries.sort().map((name) => this.#read(name)));
    return models.filter((model): model is RepositoryModel => model !== undefined);
  }

  async get(name: string): Promise<RepositoryModel> {
    const model = NAME.test(name) ? await this.#read(name) : undefined;
    if (model === undefined) throw new CapserveError('MODEL_NOT_FOUND', `no model "${name}" in the repository`);
    return model;
  }

  /** The manifest of `version` ("default" or a number), after checking every file against its SHA-256. */
  async resolve(name: string, version: number | 'default'): Promise<{ readonly dir: string; readonly manifest: Manifest }> {
    const manifest = await this.#version(name, version);
    const dir = path.join(this.root, name, String(manifest.version));
    await this.verify(dir, manifest);
    return { dir, manifest };
  }

  /** Throws MODEL_CHECKSUM_MISMATCH naming the first file that is missing or differs. */
  async verify(dir: string, manifest: Manifest): Promise<void> {
    for (const [file, expected] of Object.entries(manifest.files)) {
      const full = path.resolve(dir, file);
      if (!full.startsWith(path.resolve(dir) + path.sep)) {
        throw new CapserveError('MODEL_CHECKSUM_MISMATCH', `model "${manifest.name}" v${manifest.version}: "${file}" is outside its version folder`);
      }
      let actual: string;
      try {
        actual = await sha256(full);
      } catch (error) {
        // The file's name only: the error's own message carries the absolute path.
        throw new CapserveError('MODEL_CHECKSUM_MISMATCH', `model "${manifest.name}" v${manifest.version}: cannot read ${file} (${errorCodeOf(error)})`, {
          details: { model: manifest.name, version: manifest.version, file },
        });
      }
      if (actual !== expected) {
        throw new CapserveError('MODEL_CHECKSUM_MISMATCH', `model "${manifest.name}" v${manifest.version}: ${file} has SHA-256 ${actual}, the manifest says ${expected}`, {
          details: { model: manifest.name, version: manifest.version, file },
        });
      }
    }
  }

  /**
   * Makes `version` the default, after checking its files against their SHA-256 (so a tampered
   * or incomplete version never becomes what the next start loads). The pointer is written
   * atomically: a temporary file renamed over the old one.
   */
  async setDefault(name: string, version: number): Promise<RepositoryModel> {
    await this.resolve(name, version);
    await this.#writeDefault(name, version);
    return this.get(name);
  }

  /**
   * Writes the current default into the `default` file, so a version added next does not
   * become the default by being the newest. Nothing is checked: the default stays what it was.
   */
  async pinDefault(name: string): Promise<void> {
    const model = await this.#read(name);
    if (model !== undefined) await this.#writeDefault(name, model.defaultVersion);
  }

  async #writeDefault(name: string, version: number): Promise<void> {
    const file = path.join(this.root, name, DEFAULT_FILE);
    await writeFile(`${file}.tmp`, `${version}\n`);
    await rename(`${file}.tmp`, file);
  }

  /**
   * Writes a new version of `name` (creating the model if it is new): the files and a manifest
   * with their SHA-256, written into a hidden temporary folder and renamed into place, so a
   * reader never sees a half-written version. Versions are numbered one past the newest.
   */
  async addVersion(
    name: string,
    files: Readonly<Record<string, string | Uint8Array>>,
    fields: Omit<Manifest, 'name' | 'version' | 'files' | 'createdAt'>,
  ): Promise<Manifest> {
    if (!NAME.test(name)) throw new CapserveError('VALIDATION_ERROR', `model names are letters, digits, ".", "_" and "-" (got "${name}")`);
    for (const file of Object.keys(files)) {
      if (!/^[a-z0-9][a-z0-9_.-]*$/i.test(file) || file === 'manifest.json') throw new CapserveError('VALIDATION_ERROR', `bad model file name "${file}"`);
    }
    // One writer at a time in this process, so two jobs never pick the same number.
    const write = this.#writing.then(async () => {
      const existing = await this.#read(name);
      // Past broken versions too: their folders exist.
      const version = Math.max(0, ...(existing?.versions ?? []).map((v) => v.version), ...(existing?.broken ?? []).map((v) => v.version)) + 1;
      const digests: Record<string, string> = {};
      for (const [file, content] of Object.entries(files)) digests[file] = createHash('sha256').update(content).digest('hex');
      const manifest = manifestSchema.parse({ ...fields, name, version, files: digests, createdAt: new Date().toISOString() });
      const dir = path.join(this.root, name);
      const staging = path.join(dir, `.staging-${version}-${process.pid}`);
      await rm(staging, { recursive: true, force: true });
      await mkdir(staging, { recursive: true });
      for (const [file, content] of Object.entries(files)) await writeFile(path.join(staging, file), content);
      await writeFile(path.join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      await rename(staging, path.join(dir, String(version)));
      return manifest;
    });
    this.#writing = write.catch(() => undefined);
    return write;
  }

  async diff(name: string, from: number, to: number): Promise<ManifestDiff> {
    return diffManifests(await this.#version(name, from), await this.#version(name, to));
  }

  async #version(name: string, version: number | 'default'): Promise<Manifest> {
    const model = await this.get(name);
    const wanted = version === 'default' ? model.defaultVersion : version;
    const manifest = model.versions.find((v) => v.version === wanted);
    const broken = model.broken?.find((v) => v.version === wanted);
    if (broken !== undefined) {
      throw new CapserveError('MODEL_MANIFEST_INVALID', `model "${name}" v${wanted}: ${broken.reason}`, { details: { model: name, version: wanted } });
    }
    if (manifest === undefined) {
      throw new CapserveError('MODEL_VERSION_NOT_FOUND', `model "${name}" has no version ${wanted}`, { details: { versions: model.versions.map((v) => v.version) } });
    }
    return manifest;
  }

  /**
   * One model's versions. A manifest that cannot be read or parsed marks its version broken
   * instead of failing the read, so the other versions and models stay listed; the reason names
   * the manifest relative to the repository and never quotes its contents.
   */
  async #read(name: string): Promise<RepositoryModel | undefined> {
    const dir = path.join(this.root, name);
    let folders: string[];
    try {
      folders = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && /^[1-9]\d*$/.test(e.name)).map((e) => e.name);
    } catch {
      return undefined;
    }
    const versions: Manifest[] = [];
    const broken: BrokenVersion[] = [];
    for (const folder of folders) {
      const problem = await readManifest(dir, name, folder);
      if (typeof problem === 'string') broken.push({ version: Number(folder), reason: `${name}/${folder}/manifest.json ${problem}` });
      else versions.push(problem);
    }
    if (versions.length === 0 && broken.length === 0) return undefined;
    versions.sort((a, b) => a.version - b.version);
    broken.sort((a, b) => a.version - b.version);
    const numbers = [...versions, ...broken].map((v) => v.version);
    const defaultVersion = await this.#defaultOf(dir, numbers, Math.max(...numbers));
    return { name, defaultVersion, versions, ...(broken.length === 0 ? {} : { broken }) };
  }

  async #defaultOf(dir: string, versions: readonly number[], newest: number): Promise<number> {
    try {
      const chosen = Number((await readFile(path.join(dir, DEFAULT_FILE), 'utf8')).trim());
      return versions.includes(chosen) ? chosen : newest;
    } catch {
      return newest;
    }
  }
}

/** A version's manifest, or what is wrong with it (a phrase to follow the manifest's relative path). */
async function readManifest(dir: string, name: string, folder: string): Promise<Manifest | string> {
  let text: string;
  try {
    text = await readFile(path.join(dir, folder, 'manifest.json'), 'utf8');
  } catch (error) {
    return `cannot be read (${errorCodeOf(error)})`;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text; the reason reaches clients, so it says only where.
    return 'is not valid JSON';
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))];
    return `does not match the manifest schema (${fields.join(', ')})`;
  }
  if (parsed.data.name !== name || String(parsed.data.version) !== folder) return `names ${parsed.data.name} v${parsed.data.version}, but lives in ${name}/${folder}`;
  return parsed.data;
}

/** A file-system error's code (ENOENT, EACCES, ...), never its message, which holds the absolute path. */
function errorCodeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unreadable';
}

async function sha256(file: string): Promise<string> {
  if (!(await stat(file)).isFile()) throw Object.assign(new Error('not a file'), { code: 'not a file' });
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
