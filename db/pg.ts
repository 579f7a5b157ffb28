/** `pg` with the type parsers every Tributary connection reads with; import pg from here to get them. */
import pg from 'pg';

// Return bigint (int8) columns as JS numbers: our ids and counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
// Keep numeric as string (exact money), dates as plain 'YYYY-MM-DD' strings (no timezone shifts).
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

export default pg;
