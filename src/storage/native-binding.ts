/**
 * The native core (`#native`, napi's generated loader), loaded on first use instead of at
 * import. `import { Client } from 'goqueue'` then works where the platform package
 * (`goqueue-<platform>`, an optional dependency) is not installed: the SDK needs the core only
 * for snappy, lz4 and zstd. What needs it (a broker, a partition log) fails with
 * NativeModuleMissingError, whose one-line message names the platform and the package.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Binding from '#native';

export type NativeBinding = typeof Binding;

/** The native module could not be loaded on this machine; `message` says what to install. */
export class NativeModuleMissingError extends Error {
  override readonly name = 'NativeModuleMissingError';
  readonly code = 'NATIVE_MODULE_MISSING';
  constructor(
    /** napi's platform name, e.g. `linux-x64-gnu`. */
    readonly platform: string,
    /** The package that holds this platform's module; null when none is published for it. */
    readonly packageName: string | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const require = createRequire(import.meta.url);
let binding: NativeBinding | null = null;
let failure: NativeModuleMissingError | null = null;

/**
 * The native binding; throws NativeModuleMissingError (the same one every time) when it cannot
 * be loaded. Synchronous, so storage code keeps its synchronous API: `#native` is an ES module
 * without top-level await, which `require` loads on Node ≥ 20.19.
 */
export function nativeBinding(): NativeBinding {
  if (binding !== null) return binding;
  if (failure !== null) throw failure;
  try {
    binding = require('#native') as NativeBinding;
    return binding;
  } catch (error) {
    failure = describeMissing(error);
    throw failure;
  }
}

/** Whether the native module loads here (loads it on the first call). */
export function nativeAvailable(): boolean {
  try {
    nativeBinding();
    return true;
  } catch (error) {
    if (error instanceof NativeModuleMissingError) return false;
    throw error;
  }
}

/** napi's name for this machine: `linux-x64-gnu`, `linux-arm64-musl`, `darwin-arm64`, `win32-x64-msvc`… */
export function nativePlatform(): string {
  const { platform, arch } = process;
  if (platform === 'linux') return `${platform}-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
  if (platform === 'win32') return `${platform}-${arch}-msvc`;
  return `${platform}-${arch}`;
}

function isMusl(): boolean {
  // glibc reports its version in the process report; musl does not.
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime === undefined;
}

function describeMissing(error: unknown): NativeModuleMissingError {
  const platform = nativePlatform();
  const manifest = rootManifest();
  const packageName = `${manifest.name}-${platform}`;
  const published = packageName in manifest.optionalDependencies;
  if (!published) {
    const known = Object.keys(manifest.optionalDependencies)
      .map((name) => name.slice(manifest.name.length + 1))
      .join(', ');
    return new NativeModuleMissingError(
      platform,
      null,
      `no prebuilt native module for ${platform} (prebuilt: ${known}); build it from a source checkout ` +
        'with `npm run build:native` (needs Rust)',
      { cause: error },
    );
  }
  const loadFailure = packageLoadFailure(error);
  const install = `npm install ${packageName}@${manifest.version}`;
  return new NativeModuleMissingError(
    platform,
    packageName,
    loadFailure === null
      ? `the native module for ${platform} is not installed: run \`${install}\` (an optional ` +
          'dependency of goqueue; installs with --omit=optional or --no-optional leave it out)'
      : `the native module for ${platform} (${packageName}) did not load: ${loadFailure}`,
    { cause: error },
  );
}

/**
 * The first reason in napi's error chain that is not "Cannot find module": the package is
 * there but the module does not load (an older glibc, a wrong architecture). Null otherwise.
 */
function packageLoadFailure(error: unknown): string | null {
  for (
    let link: unknown = error, depth = 0;
    link instanceof Error && depth < 32;
    link = link.cause, depth++
  ) {
    const firstLine = link.message.split('\n')[0] ?? '';
    const missing =
      (link as { code?: unknown }).code === 'MODULE_NOT_FOUND' ||
      /^Cannot find (module|native binding)/.test(firstLine);
    if (!missing && firstLine !== '') return firstLine;
  }
  return null;
}

interface RootManifest {
  name: string;
  version: string;
  optionalDependencies: Record<string, string>;
}

/** goqueue's package.json (next to the loader `#native` resolves to). */
function rootManifest(): RootManifest {
  const fallback: RootManifest = { name: 'goqueue', version: 'latest', optionalDependencies: {} };
  try {
    const path = join(dirname(require.resolve('#native')), 'package.json');
    if (!existsSync(path)) return fallback;
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<RootManifest>;
    return {
      name: parsed.name ?? fallback.name,
      version: parsed.version ?? fallback.version,
      optionalDependencies: parsed.optionalDependencies ?? {},
    };
  } catch {
    return fallback;
  }
}
