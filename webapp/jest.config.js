/** Jest runs the TypeScript sources through babel.config.js in a jsdom browser environment. */
module.exports = {
    testEnvironment: 'jsdom',
    roots: ['<rootDir>/src', '<rootDir>/tests'],
    testMatch: ['**/*.test.ts', '**/*.test.tsx'],
    moduleNameMapper: {'^src/(.*)$': '<rootDir>/src/$1'},

    // Regenerates src/manifest.ts so `jest` works on a fresh clone, where it is absent.
    globalSetup: '<rootDir>/tests/global_setup.js',
    setupFilesAfterEnv: ['<rootDir>/tests/setup.ts'],
    testTimeout: 60000,
};
