/**
 * The age library (`age-encryption`) is ESM-only while this package is CommonJS. With
 * "module": "node16" TypeScript leaves `import()` as a real dynamic import in CommonJS output,
 * so Node loads the ESM package natively; jest transforms the package to CommonJS instead
 * (jest.config.js, transformIgnorePatterns). Loaded once, on first use.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- typescript-eslint's parser does not resolve the resolution-mode attribute that tsc does
export type AgeModule = typeof import('age-encryption', { with: { 'resolution-mode': 'import' } });

let loaded: Promise<AgeModule> | undefined;

export function loadAge(): Promise<AgeModule> {
  loaded ??= import('age-encryption');
  return loaded;
}

/** A new X25519 identity (AGE-SECRET-KEY-1…) and its recipient (age1…), as the `age-keygen` tool makes. */
export async function generateKeyPair(): Promise<{ identity: string; recipient: string }> {
  const age = await loadAge();
  const identity = await age.generateX25519Identity();
  return { identity, recipient: await age.identityToRecipient(identity) };
}
