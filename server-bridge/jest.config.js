/** Tests run the TypeScript sources through swc; child processes (the stand-in, the CLI) run the built dist/. */
const swc = ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }];
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // age-encryption and its noble/scure dependencies are ESM-only: jest's CommonJS loader gets
  // them transformed by swc (the built CLI loads them natively with a real import()).
  transform: { '^.+\\.ts$': swc, '/node_modules/(age-encryption|@noble|@scure)/.+\\.js$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(age-encryption|@noble|@scure)/)'],
  testTimeout: 120000,
  maxWorkers: 2,
  globalSetup: '<rootDir>/test/global_setup.js',
};
