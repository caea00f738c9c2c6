// The digest lives in the product (src/verify: `demo` verifies with it too); the tests use the same code.
export * from '../../src/verify/digest.js';
