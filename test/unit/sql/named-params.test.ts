/** Named placeholders become bound $n parameters; SQL text around them is left exactly as written. */
import { describe, expect, it } from 'vitest';
import { SqlParams, contextResolver, preflightResolver, rewritePlaceholders } from '../../../jobs/sql/named-params.ts';
import { TributaryError } from '../../../engine/errors.ts';

const source = {
  logicalDate: new Date('2025-05-13T06:00:00Z'),
  dataInterval: { start: new Date('2025-05-13T06:00:00Z'), end: new Date('2025-05-14T06:00:00Z') },
  params: { agency: "acme' OR '1'='1", limit: 5, tags: ['a', 'b'] },
  runId: '42',
  taskId: 'report',
  dagId: 'ratings',
  upstream: { load: [{ files: [{ sha256: 'ab' }] }] },
};

describe('named placeholders', () => {
  it('binds each name once, in order of first use', () => {
    const p = new SqlParams(contextResolver(source));
    const sql = p.sql('SELECT * FROM t WHERE d >= :interval_start AND d < :interval_end AND a = :param_agency AND d2 >= :interval_start', 'q');
    expect(sql).toBe('SELECT * FROM t WHERE d >= $1 AND d < $2 AND a = $3 AND d2 >= $1');
    expect(p.values).toEqual([source.dataInterval.start, source.dataInterval.end, "acme' OR '1'='1"]);
  });

  it('continues the numbering of values added before', () => {
    const p = new SqlParams(contextResolver(source));
    expect(p.add(10)).toBe('$1');
    expect(p.sql('x = :param_limit', 'q')).toBe('x = $2');
    expect(p.values).toEqual([10, 5]);
  });

  it('leaves casts, strings, quoted identifiers, comments and dollar quotes alone', () => {
    const text = `SELECT :logical_date::date, 'a :param_x b', "col:param_y", E'it\\'s :param_z', $$ :param_w $$, $tag$ :q $tag$ -- :param_v
      /* :param_u /* nested */ :param_t */ , arr[1:2], x::text`;
    const names: string[] = [];
    const out = rewritePlaceholders(text, 'q', (name) => {
      names.push(name);
      return '$1';
    });
    expect(names).toEqual(['logical_date']);
    expect(out).toBe(text.replace(':logical_date', '$1'));
  });

  it('JSON params are bound as JSON text; run ids as text', () => {
    const p = new SqlParams(contextResolver(source));
    p.sql(':param_tags :run_id :dag_id :task_id :logical_date', 'q');
    expect(p.values).toEqual(['["a","b"]', '42', 'ratings', 'report', source.logicalDate]);
  });

  it('binds an upstream result as JSON text; a task that is not upstream is an error naming it', () => {
    const p = new SqlParams(contextResolver(source));
    expect(p.sql('SELECT * FROM jsonb_array_elements(CAST(:upstream_load AS jsonb))', 'q')).toBe('SELECT * FROM jsonb_array_elements(CAST($1 AS jsonb))');
    expect(p.values).toEqual(['[{"files":[{"sha256":"ab"}]}]']);
    expect(() => new SqlParams(contextResolver(source)).sql(':upstream_files', 'q')).toThrow(/"files" is not an upstream task/);
    expect(new SqlParams(preflightResolver()).sql(':upstream_load', 'q')).toBe('$1');
  });

  it('rejects positional parameters, unknown names, missing params and unterminated strings', () => {
    const resolve = contextResolver(source);
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err instanceof TributaryError ? `${err.code}: ${err.message}` : String(err);
      }
      return 'no error';
    };
    expect(code(() => new SqlParams(resolve).sql('a = $1', 'check "c"'))).toMatch(/^OPTIONS_INVALID: check "c": positional parameter/);
    expect(code(() => new SqlParams(resolve).sql('a = :agency', 'q'))).toMatch(/^OPTIONS_INVALID: unknown SQL placeholder :agency/);
    expect(code(() => new SqlParams(resolve).sql('a = :param_missing', 'q'))).toBe(
      'ARGUMENT_INVALID: SQL uses :param_missing but the run has no param "missing"',
    );
    expect(code(() => new SqlParams(resolve).sql("a = 'open", 'q'))).toBe('OPTIONS_INVALID: q: unterminated string');
  });

  it('preflight stands in typed values and NULL params', () => {
    const p = new SqlParams(preflightResolver());
    p.sql(':param_anything :logical_date', 'q');
    expect(p.values[0]).toBeNull();
    expect(p.values[1]).toBeInstanceOf(Date);
  });

  it('a trailing line comment cannot swallow what follows the fragment', () => {
    const p = new SqlParams(contextResolver(source));
    expect(p.sql("status = 'x' -- only x", 'q')).toBe("status = 'x' -- only x\n");
  });
});
