// Test environment setup shared by every webapp test.
import '@testing-library/jest-dom';

// jsdom has no fetch. whatwg-fetch implements it on top of jsdom's XMLHttpRequest, so
// tests still make real HTTP requests (with jsdom's CORS and credentials rules) to the
// local servers they start, instead of mocking fetch.
import 'whatwg-fetch';
