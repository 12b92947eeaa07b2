import { expect } from 'chai';
import { redactSecrets } from '../../src/util/redact.js';

describe('redactSecrets', () => {
  it('hides the password of every URL, up to its last @, and nothing else', () => {
    const table: Array<[string, string]> = [
      ['mysql://u:secretpw@h:1/d', 'mysql://u:***@h:1/d'],
      ['connect mysql://tf:p@ss@db:3306/x failed', 'connect mysql://tf:***@db:3306/x failed'],
      ['{"url":"mariadb://a:b@c/d","other":"x:y@z"}', '{"url":"mariadb://a:***@c/d","other":"x:y@z"}'],
      ['two: mysql://a:1@h/d and mysql://b:2@h/d', 'two: mysql://a:***@h/d and mysql://b:***@h/d'],
      ['no password: mysql://u@h/d, unix:///var/run/docker.sock', 'no password: mysql://u@h/d, unix:///var/run/docker.sock'],
    ];
    for (const [raw, shown] of table) expect(redactSecrets(raw), raw).to.equal(shown);
  });
});
