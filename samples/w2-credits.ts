/**
 * W2 builders for credits, credit_histories and credit_chat. Planted: credits of unknown sellers,
 * bad statuses (those credits get no history/chat), issued before signup, due <= issue, status
 * differing from the last history; history/chat rows of unknown credits, bad history statuses
 * (never the last row), bad chat roles. Seller credit sums are accumulated for the limit rule.
 */
import { DAY_MS, fixed } from './format.ts';
import { insertAfter, stamp, take, type W2Context, type W2Row } from './w2-context.ts';
import type { People, Seller } from './w2-people.ts';
import { CREDIT_STATUSES } from './w2-schema.ts';

export interface Credit {
  id: number;
  seller: Seller | null;
  sellerId: number;
  amount: number;
  issue: number;
  status: string;
  hasHistory: boolean;
  row: W2Row;
}

const FLOW = ['New', 'InReview', 'Approved', 'Deposit', 'InReview', 'Approved', 'Deposit'];
const MESSAGES = [
  'Hi, please upload the latest bank statement.',
  'Uploaded. Let me know if anything else is needed, thanks!',
  'Reviewing now; the "trade license" copy is blurry, can you resend?',
  'Approved for deposit, funds go out Monday.',
  'Seller asked to extend the due date by 2 weeks',
  'Called the seller, no answer; will retry tomorrow.',
  'Limit increase requested: current utilisation 85%, good payment history',
];

export function buildCredits(ctx: W2Context, people: People): Credit[] {
  const random = ctx.random('credits');
  const n = Math.max(60, Math.round(800 * ctx.scale));
  const parents = people.sellers.filter((s) => s.hasChildren);
  const over = parents.filter((s) => s.overLimit);
  const credits: Credit[] = [];
  const make = (seller: Seller | null, sellerId: number, forceOpen: boolean): Credit => {
    const signup = seller?.signup ?? ctx.start - 900 * DAY_MS;
    const span = Math.max(1, Math.floor((ctx.start - 60 * DAY_MS - signup) / DAY_MS));
    const issue = signup + random.int(1, span) * DAY_MS + random.int(0, DAY_MS - 1);
    const amount = random.chance(0.01) ? random.int(200_000, 900_000) * 100 : random.int(1_000, 50_000) * 100 + random.int(0, 99);
    let status = random.weighted([['New', 10], ['InReview', 10], ['Approved', 25], ['Deposit', 15], ['Paid', 30], ['Cancelled', 10]] as const) as string;
    if (forceOpen && status === 'Cancelled') status = 'Approved';
    const c: Credit = { id: 50_001 + credits.length, seller, sellerId, amount, issue, status, hasHistory: true, row: { day: 0, fields: [], tags: [] } };
    credits.push(c);
    return c;
  };
  for (const s of over) for (let i = random.int(1, 3); i > 0; i--) make(s, s.id, true);
  const orphans = ctx.few(4);
  for (let i = 0; i < orphans; i++) make(null, 99_000 + i, false);
  while (credits.length < n) {
    const s = random.pick(parents);
    make(s, s.id, s.overLimit);
  }
  const clean = credits.filter((c) => c.seller !== null);
  for (const c of credits) {
    if (c.seller === null) c.row.tags.push('fk_credits_seller');
    const due = c.issue + random.int(30, 90) * DAY_MS;
    c.row.fields = [String(c.id), String(c.sellerId), fixed(c.amount, 2), stamp(random, c.issue), stamp(random, due), c.status];
  }
  const onNormal = clean.filter((c) => c.seller !== null && !c.seller.overLimit);
  for (const c of take(random, onNormal, ctx.few(5), 'credits')) {
    c.status = random.pick(['Rejected', 'Disputed', 'Closed']);
    c.row.fields[5] = c.status;
    c.hasHistory = false;
    c.row.tags.push('accepted_credits_status');
  }
  const withHistory = clean.filter((c) => c.hasHistory);
  const pool = [...withHistory];
  for (const c of take(random, pool, ctx.few(12), 'credits')) {
    c.issue = c.seller!.signup - random.int(1, 60) * DAY_MS + random.int(0, DAY_MS - 1);
    c.row.fields[3] = stamp(random, c.issue);
    c.row.fields[4] = stamp(random, c.issue + random.int(30, 90) * DAY_MS);
    c.row.tags.push('credits_after_signup');
  }
  for (const [i, c] of take(random, pool, ctx.few(10), 'credits').entries()) {
    c.row.fields[4] = i === 0 ? c.row.fields[3] : stamp(random, c.issue - random.int(1, 10) * DAY_MS);
    c.row.tags.push('credits_due_after_issue');
  }
  for (const c of take(random, pool, ctx.few(15), 'credits')) c.row.tags.push('credit_status_matches_history');
  for (const c of credits) {
    if (!c.seller) continue;
    c.seller.creditsAll += c.amount;
    if (c.status !== 'Cancelled') c.seller.creditsNonCancelled += c.amount;
  }
  return credits;
}

export function historyRows(ctx: W2Context, credits: readonly Credit[]): W2Row[] {
  const random = ctx.random('histories');
  const withHistory = credits.filter((c) => c.hasHistory);
  const orphans = ctx.few(6);
  const target = Math.max(Math.round(3137 * ctx.scale), Math.ceil(withHistory.length * 3.9) + orphans); // ~3.9 rows per credit
  const lengths = new Map(withHistory.map((c) => [c, 1]));
  for (let extra = target - orphans - withHistory.length; extra > 0; ) {
    const c = random.pick(withHistory);
    if (lengths.get(c)! < 8) {
      lengths.set(c, lengths.get(c)! + 1);
      extra--;
    }
  }
  const badMiddle = new Set(take(random, withHistory.filter((c) => lengths.get(c)! >= 3), ctx.few(5), 'credits with 3+ history rows'));
  const rows: W2Row[] = [];
  for (const c of withHistory) {
    const length = lengths.get(c)!;
    const mismatch = c.row.tags.includes('credit_status_matches_history');
    const last = mismatch ? random.pick(CREDIT_STATUSES.filter((s) => s !== c.status)) : c.status;
    const bad = badMiddle.has(c) ? random.int(1, length - 2) : -1;
    let at = c.issue;
    for (let i = 0; i < length; i++) {
      at += random.int(3_600_000, 5 * DAY_MS);
      const status = i === length - 1 ? last : i === bad ? random.pick(['Approve', 'InRevew', 'Pending']) : FLOW[i];
      rows.push({ day: 0, fields: [String(c.id), status, stamp(random, at)], tags: i === bad ? ['accepted_credit_histories_status'] : [] });
    }
  }
  for (let i = 0; i < orphans; i++) {
    const at = ctx.start - random.int(61, 400) * DAY_MS;
    insertAfter(random, rows, 0, { day: 0, fields: [String(990_001 + i), random.pick(FLOW), stamp(random, at)], tags: ['fk_credit_histories_credit'] });
  }
  return rows;
}

export function chatRows(ctx: W2Context, people: People, credits: readonly Credit[]): W2Row[] {
  const random = ctx.random('chat');
  const withHistory = credits.filter((c) => c.hasHistory);
  const orphans = ctx.few(5);
  const n = Math.max(20, Math.round(1600 * ctx.scale), orphans + ctx.few(4) + 1);
  const seen = new Set<string>();
  const rows: W2Row[] = [];
  for (let i = 0; i < n; i++) {
    const orphan = i < orphans;
    const c = random.pick(withHistory);
    const role = random.pick(['AM', 'SAM']);
    const user = role === 'AM' ? (c.seller?.amId ?? random.pick(people.amIds)) : (c.seller?.samId ?? random.pick(people.samIds));
    let at = c.issue + random.int(60_000, 30 * DAY_MS);
    let key = '';
    do key = `${orphan ? 990_001 + i : c.id}|${user}|${role}|${stamp(random, ++at)}`;
    while (seen.has(key));
    seen.add(key);
    const [creditId, , , time] = key.split('|');
    rows.push({ day: 0, fields: [creditId, String(user), role, time, random.pick(MESSAGES)], tags: orphan ? ['fk_credit_chat_credit'] : [] });
  }
  for (const row of take(random, rows.filter((r) => r.tags.length === 0), ctx.few(4), 'chat rows')) {
    row.fields[2] = random.pick(['ADMIN', 'Seller', 'BOT']);
    row.tags.push('accepted_credit_chat_role');
  }
  random.shuffle(rows);
  return rows;
}
