/** The kit's own tests run its TypeScript sources through swc; the stand-in child process runs the built dist/. */
const swc = [
  '@swc/jest',
  { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } },
];
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': swc },
  testTimeout: 120000,
  maxWorkers: 2,
  globalSetup: '<rootDir>/test/global_setup.js',
};
