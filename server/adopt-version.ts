import { type VersionPin } from '../capabilities/pin-version.js';
import { type ModelRepository } from '../models/repository/model-repository.js';
import { type Store } from '../store/types.js';

/** A change to what the server serves from the model repository: a new default version, a capability registered by training, or both. */
export interface Adoption {
  /** Make this version the model's default. */
  readonly pin?: VersionPin;
  /** Store this capability (a capabilities-config entry) and serve it. */
  readonly register?: { readonly name: string; readonly spec: Readonly<Record<string, unknown>> };
}

export type AdoptVersion = (adoption: Adoption) => Promise<void>;

export interface AdopterDeps {
  readonly repository: ModelRepository;
  readonly store: Store;
  /** Reloads the configuration with the change (see `reloadCapabilities`); runs inside `exclusively`. */
  readonly reload: (change: { readonly pin?: VersionPin; readonly require?: readonly string[] }) => Promise<unknown>;
  /** The capabilities of the configuration as the next start would read it that read `pin.model` at "default". */
  readonly readers: (pin: VersionPin) => Promise<readonly string[]>;
  /** Runs a task with no other reload or adoption in between. */
  readonly exclusively: <T>(task: () => Promise<T>) => Promise<T>;
}

/**
 * Adopts a version so that no failure can leave a half state, in this order: its files are
 * checked against their SHA-256; a registration is stored; if anything in the configuration
 * reads the model's default (or a capability is being registered), the configuration reloads
 * with the version pinned, and every capability that reads it must build and be available;
 * only then does the repository's `default` pointer move (one atomic rename). A failure at any
 * step before the rename withdraws the registration and leaves the default, and so the next
 * start, where it was. A crash between the reload and the rename leaves the old default on
 * disk, which the next start serves.
 */
export function versionAdopter(deps: AdopterDeps): AdoptVersion {
  return (adoption) =>
    deps.exclusively(async () => {
      const { pin, register } = adoption;
      if (pin !== undefined) await deps.repository.resolve(pin.model, pin.version);
      const before = register === undefined ? undefined : (await deps.store.listCapabilities()).find((entry) => entry.name === register.name);
      if (register !== undefined) await deps.store.putCapability({ name: register.name, spec: register.spec, createdAt: Date.now() });
      try {
        const readers = pin === undefined ? [] : await deps.readers(pin);
        if (register !== undefined || readers.length > 0) {
          await deps.reload({ ...(pin === undefined ? {} : { pin }), require: register === undefined ? [] : [register.name] });
        }
      } catch (error) {
        if (register !== undefined) {
          if (before === undefined) await deps.store.deleteCapability(register.name);
          else await deps.store.putCapability(before);
        }
        throw error;
      }
      if (pin !== undefined) await deps.repository.setDefault(pin.model, pin.version);
      if (register !== undefined) {
        await deps.store.appendAudit({ at: Date.now(), actor: 'system', action: 'capability.registered', subject: `capability:${register.name}`, details: { spec: register.spec } });
      }
    });
}
