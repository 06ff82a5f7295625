import { describe, expect, it } from 'vitest';
import { parseReferenceCsv, splitCsvLine, toReferenceMap } from '../../../core/reference.ts';
import { loadShippedReference } from '../../../infra/reference-file.ts';

describe('splitCsvLine', () => {
  it('handles quoted fields, doubled quotes and empty cells', () => {
    expect(splitCsvLine('a,"b, c","say ""hi""",,e')).toEqual(['a', 'b, c', 'say "hi"', '', 'e']);
    expect(splitCsvLine('"only"')).toEqual(['only']);
    expect(splitCsvLine('x,')).toEqual(['x', '']);
  });

  it('returns null for broken quoting', () => {
    expect(splitCsvLine('a,"unterminated')).toBeNull();
    expect(splitCsvLine('a,"q"junk,b')).toBeNull();
    expect(splitCsvLine('a,b"c')).toBeNull();
  });
});

describe('parseReferenceCsv', () => {
  it('reads rows in any column order, skipping comments, blank lines, BOM and CRLF', () => {
    const text = [
      '\uFEFF# comment',
      'exchange,symbol,name,sector,currency,beta,extra',
      'NASDAQ,AAPL,Apple Inc.,Information Technology,USD,1.2,ignored',
      '',
      'NYSE,CRM,"Salesforce, Inc.",Information Technology,USD,',
    ].join('\r\n');
    expect(parseReferenceCsv(text)).toEqual({
      rows: [
        {
          symbol: 'AAPL',
          name: 'Apple Inc.',
          sector: 'Information Technology',
          exchange: 'NASDAQ',
          currency: 'USD',
          beta: 1.2,
        },
        {
          symbol: 'CRM',
          name: 'Salesforce, Inc.',
          sector: 'Information Technology',
          exchange: 'NYSE',
          currency: 'USD',
          beta: 1,
        },
      ],
      errors: [],
    });
  });

  it('reports each bad line with its number and keeps the good ones', () => {
    const text = [
      'symbol,name,sector,exchange,currency,beta',
      'AAPL,Apple Inc.,IT,NASDAQ,USD,1.2', // 2
      'msft,Microsoft,IT,NASDAQ,USD,0.9', // 3: lower case
      'NVDA,NVIDIA,IT,NASDAQ,US,1.7', // 4: currency
      'AMD,AMD,IT,NASDAQ,USD,high', // 5: beta
      'INTC,"Intel,IT,NASDAQ,USD,1', // 6: quoting
      'AAPL,Apple again,IT,NASDAQ,USD,1', // 7: duplicate
      'IBM,,IT,NYSE,USD,0.8', // 8: empty name
      'SPY,SPDR S&P 500,ETF,NYSE Arca,USD,1.0', // 9
    ].join('\n');
    const { rows, errors } = parseReferenceCsv(text);
    expect(rows.map((r) => r.symbol)).toEqual(['AAPL', 'SPY']);
    expect(errors.map((e) => e.line)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(errors[0]?.message).toContain('symbol');
    expect(errors[1]?.message).toContain('currency');
    expect(errors[2]?.message).toContain('beta');
    expect(errors[3]?.message).toBe('malformed CSV quoting');
    expect(errors[4]?.message).toBe('duplicate symbol AAPL (first on line 2)');
    expect(errors[5]?.message).toContain('name');
  });

  it('stops with one error when the header lacks required columns, or is absent', () => {
    expect(parseReferenceCsv('symbol,name\nAAPL,Apple')).toEqual({
      rows: [],
      errors: [{ line: 1, message: 'header is missing column(s): sector, exchange, currency' }],
    });
    expect(parseReferenceCsv('\n# nothing\n').errors).toEqual([{ line: 0, message: 'no header line' }]);
  });
});

describe('shipped symbol master', () => {
  it('parses cleanly into ~60 unique US equities and ETFs with plausible betas', () => {
    const rows = loadShippedReference();
    expect(rows.length).toBeGreaterThanOrEqual(55);
    expect(rows.length).toBeLessThanOrEqual(70);
    const map = toReferenceMap(rows);
    expect(map.size).toBe(rows.length);
    for (const s of ['AAPL', 'MSFT', 'NVDA', 'SPY', 'QQQ', 'BRK.B', 'JPM']) expect(map.has(s)).toBe(true);
    expect(rows.every((r) => r.currency === 'USD' && r.beta > -1 && r.beta < 3)).toBe(true);
    expect(rows.filter((r) => r.sector === 'ETF').length).toBeGreaterThanOrEqual(5);
    expect(map.get('SPY')?.beta).toBe(1);
  });
});
