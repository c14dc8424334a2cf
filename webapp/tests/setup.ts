// Test environment setup shared by every webapp test.
import '@testing-library/jest-dom';

// jsdom has no fetch. whatwg-fetch implements it on top of jsdom's XMLHttpRequest, so
// tests still make real HTTP requests (with jsdom's CORS and credentials rules) to the
// local servers they start, instead of mocking fetch.
import 'whatwg-fetch';

// Connect makes about twenty real HTTP round trips; on a busy CI machine (two cores shared with
// database servers) they take longer than testing-library's 1 s default for findBy*/waitFor.
import {configure} from '@testing-library/react';
configure({asyncUtilTimeout: 5000});
