import { describe, expect, it } from 'vitest';
import { formatTable, plainRows } from '../../../warehouse/format.ts';

describe('query output', () => {
  it('unwraps the client’s TIMESTAMP/DATE objects and aligns a table, numbers to the right', () => {
    const rows = [
      { symbol: 'AAPL', day: { value: '2026-11-20' }, n: 5, tags: ['a'] },
      { symbol: 'NVDA', day: { value: '2026-11-21' }, n: 120, tags: null },
    ];
    expect(plainRows(rows)[0]).toEqual({ symbol: 'AAPL', day: '2026-11-20', n: 5, tags: ['a'] });
    expect(formatTable(rows)).toBe(
      [
        'symbol  day           n  tags',
        '------  ----------  ---  -----',
        'AAPL    2026-11-20    5  ["a"]',
        'NVDA    2026-11-21  120  NULL',
        '(2 rows)',
        '',
      ].join('\n'),
    );
    expect(formatTable([])).toBe('(no rows)\n');
  });
});
