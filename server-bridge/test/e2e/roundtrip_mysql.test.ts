import { roundtripSuite } from './roundtrip_suite';

describe('MariaDB (MySQL, Mattermost v10) round trip', () => roundtripSuite('mysql'));
