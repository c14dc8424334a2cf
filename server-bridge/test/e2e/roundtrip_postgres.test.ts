import { roundtripSuite } from './roundtrip_suite';

describe('PostgreSQL round trip', () => roundtripSuite('postgres'));
