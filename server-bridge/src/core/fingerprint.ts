/** What a signing key's fingerprint looks like (ed25519:…); the config, the CLI and repository/signing.ts read it. */
export const FINGERPRINT = /^ed25519:[A-Za-z0-9_-]{43}$/;
