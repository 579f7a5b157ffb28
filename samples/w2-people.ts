/**
 * W2 builders for the people tables: senior account managers, account managers and sellers.
 * Planted: AM with an unknown SAM, sellers with unknown AM/SAM or a bad market (those sellers get
 * no children), sellers over their credit limit (limits are set after credits, in sellerRows).
 */
import { DAY_MS, fixed, isoDay } from './format.ts';
import { money4, take, type W2Context, type W2Row } from './w2-context.ts';

export interface Seller {
  id: number;
  name: string;
  market: string;
  signup: number;
  amId: number;
  samId: number;
  /** False for defect sellers: nothing references them, so rejecting them orphans nothing. */
  hasChildren: boolean;
  overLimit: boolean;
  tags: string[];
  initialWallet: number;
  /** Filled by the credit builder: sums in cents. */
  creditsAll: number;
  creditsNonCancelled: number;
  /** Filled by the lead builder. */
  leads: number;
}

export interface People {
  sams: W2Row[];
  ams: W2Row[];
  sellers: Seller[];
  amIds: number[];
  samIds: number[];
}

const FIRST = ['Al Noor', 'Baraka', 'Zahra', 'Oasis', 'Sahel', 'Nile', 'Atlas', 'Falcon', 'Desert Rose', 'Kilimanjaro', 'Marrakech', 'Dune'];
const SECOND = ['Trading', 'Electronics', 'Fashion', 'Home Goods', 'Beauty', 'Mobile', 'Spices', 'Textiles', 'Auto Parts', 'Kids'];
const SUFFIX = ['', '', '', ', LLC', ', Ltd', ' & Sons, FZE', ', Co.'];
const PEOPLE = ['Amina', 'Omar', 'Fatima', 'Yusuf', 'Layla', 'Karim', 'Nadia', 'Samir', 'Hana', 'Tariq', 'Zainab', 'Idris'];
const SURNAMES = ['Haddad', 'Mansour', 'Okafor', 'Diallo', 'Farouk', 'Nasser', 'Mensah', 'Khalil', 'Bello', 'Saleh'];
const BAD_MARKETS = ['KSA', 'AFRICA', 'EMEA'];

function person(ctx: W2Context, part: string, n: number, domain: string): Array<[string, string]> {
  const random = ctx.random(part);
  return Array.from({ length: n }, (_, i) => {
    const first = random.pick(PEOPLE);
    const last = random.pick(SURNAMES);
    return [`${first} ${last}`, `${first}.${last}.${i + 1}@${domain}`.toLowerCase()];
  });
}

export function buildPeople(ctx: W2Context): People {
  const random = ctx.random('people');
  const nSam = Math.max(2, Math.round(5 * ctx.scale));
  const nAm = Math.max(3, Math.round(20 * ctx.scale));
  const nSellers = Math.max(30, Math.round(300 * ctx.scale));
  const samIds = Array.from({ length: nSam }, (_, i) => i + 1);
  const amIds = Array.from({ length: nAm }, (_, i) => i + 1);
  const sams: W2Row[] = person(ctx, 'sam-names', nSam, 'credit.example').map(([name, email], i) => ({
    day: 0, fields: [String(samIds[i]), name, email], tags: [],
  }));
  const ams: W2Row[] = person(ctx, 'am-names', nAm, 'credit.example').map(([name, email], i) => ({
    day: 0, fields: [String(amIds[i]), name, email, String(random.pick(samIds))], tags: [],
  }));
  for (const [i, row] of take(random, [...ams], ctx.few(1), 'account managers').entries()) {
    row.fields[3] = String(9000 + i);
    row.tags.push('fk_account_managers_sam');
  }
  const sellers: Seller[] = Array.from({ length: nSellers }, (_, i) => ({
    id: 1001 + i,
    name: `${random.pick(FIRST)} ${random.pick(SECOND)}${random.pick(SUFFIX)}`,
    market: random.weighted([['GCC', 60], ['AFRQ', 40]] as const),
    signup: ctx.start - random.int(800, 1100) * DAY_MS,
    amId: random.pick(amIds),
    samId: random.pick(samIds),
    hasChildren: true,
    overLimit: false,
    tags: [],
    initialWallet: random.chance(0.2) ? 0 : random.int(0, 5_000_000) * 100,
    creditsAll: 0,
    creditsNonCancelled: 0,
    leads: 0,
  }));
  // A few names carry quotes as well as commas.
  for (const s of take(random, [...sellers], Math.max(1, Math.round(nSellers / 100)), 'sellers')) s.name = `Souq "${s.name}"`;
  const pool = [...sellers];
  const plant = (n: number, what: string, apply: (s: Seller, i: number) => void): void =>
    take(random, pool, n, 'sellers').forEach((s, i) => {
      s.hasChildren = false;
      s.tags.push(what);
      apply(s, i);
    });
  plant(ctx.few(2), 'fk_sellers_am', (s, i) => (s.amId = 9000 + i));
  plant(ctx.few(2), 'fk_sellers_sam', (s, i) => (s.samId = 9000 + i));
  plant(ctx.few(3), 'accepted_sellers_market', (s) => (s.market = random.pick(BAD_MARKETS)));
  for (const s of take(random, pool, ctx.few(8), 'sellers')) {
    s.overLimit = true;
    s.tags.push('sellers_within_limit');
  }
  return { sams, ams, sellers, amIds, samIds };
}

/** Seller rows, once credits and leads are known (limits and weekly lead averages depend on them). */
export function sellerRows(ctx: W2Context, sellers: readonly Seller[]): W2Row[] {
  const random = ctx.random('seller-rows');
  return sellers.map((s) => {
    let limit: number; // cents, a multiple of 100.00
    if (s.overLimit) limit = Math.floor((s.creditsNonCancelled * (0.5 + random.next() * 0.4)) / 10_000) * 10_000;
    else limit = Math.max(500_000, Math.ceil((s.creditsAll * (1.2 + random.next() * 1.8)) / 100_000) * 100_000);
    const weeks = Math.max(1, Math.floor((ctx.end - s.signup) / (7 * DAY_MS)));
    return {
      day: 0,
      fields: [
        String(s.id), s.name, s.market, isoDay(s.signup), `${fixed(limit / 10, 1)}`, String(Math.round(s.leads / weeks)),
        money4(random, s.initialWallet), String(s.amId), String(s.samId),
      ],
      tags: s.tags,
    };
  });
}

