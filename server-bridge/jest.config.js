/**
 * Tests run the TypeScript sources through swc, the test kit's too (mapped to testkit/src, so a kit
 * change needs no build); child processes (the CLI, the stand-in) run the built dist/ of each.
 */
const swc = [
  '@swc/jest',
  { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } },
];
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // age-encryption and its noble/scure dependencies are ESM-only: jest's CommonJS loader gets
  // them transformed by swc (the built CLI loads them natively with a real import()).
  transform: { '^.+\\.ts$': swc, '/node_modules/(age-encryption|@noble|@scure)/.+\\.js$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(age-encryption|@noble|@scure)/)'],
  moduleNameMapper: {
    '^@mm-backup/testkit$': '<rootDir>/../testkit/src',
    '^@mm-backup/testkit/(.*)$': '<rootDir>/../testkit/src/$1',
  },
  testTimeout: 120000,
  maxWorkers: 2,
  globalSetup: '<rootDir>/test/global_setup.js',
};
