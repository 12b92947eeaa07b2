import { expect } from 'chai';
import { chunks, multiRowUpsertSql, placeholders, valuesList } from '../../src/store/sql.js';

describe('SQL text helpers', () => {
  it('placeholders(n) is an IN list of n parameters; valuesList repeats a tuple', () => {
    expect(placeholders(0)).to.equal('');
    expect(placeholders(1)).to.equal('?');
    expect(placeholders(3)).to.equal('?,?,?');
    expect(placeholders(10_000).split(',')).to.have.length(10_000);
    expect(valuesList('(?,?)', 0)).to.equal('');
    expect(valuesList('(?,?)', 1)).to.equal('(?,?)');
    expect(valuesList('(?,?)', 3)).to.equal('(?,?),(?,?),(?,?)');
  });

  it('chunks splits into slices of at most size', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).to.deep.equal([[1, 2], [3, 4], [5]]);
    expect(chunks([], 2)).to.deep.equal([]);
  });

  it('multiRowUpsertSql writes the dialect upsert for n rows, the first column as key', () => {
    expect(multiRowUpsertSql('mysql', 't', ['k', 'a', 'b'], 2)).to.equal('INSERT INTO `t` (`k`, `a`, `b`) VALUES (?,?,?),(?,?,?) ON DUPLICATE KEY UPDATE `a` = VALUES(`a`), `b` = VALUES(`b`)');
    expect(multiRowUpsertSql('sqlite', 't', ['k', 'a'], 1)).to.equal('INSERT INTO `t` (`k`, `a`) VALUES (?,?) ON CONFLICT(`k`) DO UPDATE SET `a` = excluded.`a`');
  });
});
