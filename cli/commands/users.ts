/**
 * `trib users add|list|role|password|remove`, `trib tokens add|list|revoke`, `trib audit`: the
 * dashboard's named users (dashboard/users.ts), their API tokens, and the audit log. A password or
 * token is printed once, when made; changes are themselves in the audit log (`users.add`, …).
 */
import { Argument, type Command } from 'commander';
import { positiveIntArg } from '../args.ts';
import { formatDate, table } from '../format.ts';

const ROLE_CHOICES = ['viewer', 'operator', 'admin'];

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Runs `fn` with the user store on the command's database; a change (`action` given) is recorded in the audit log. */
async function withUsers<T>(action: string | null, target: string | null, fn: (users: import('../../dashboard/users.ts').UserStore) => Promise<T>): Promise<T> {
  const [{ withRecord }, { UserStore }, { audited }] = await Promise.all([
    import('../find-database.ts'), import('../../dashboard/users.ts'), import('../audited.ts'),
  ]);
  return withRecord((pool) => (action === null ? fn(new UserStore(pool)) : audited(pool, { action, target }, () => fn(new UserStore(pool)))));
}

export function addUserCommands(program: Command): void {
  const users = program.command('users').description('named dashboard users: viewer (reads), operator (acts), admin (also sees users and every session)');
  users.command('add')
    .description('add a user; prints a generated password once unless --password-stdin')
    .argument('<name>', 'user name (a-z 0-9 . _ -, starting with a letter)')
    .addArgument(new Argument('<role>', 'role').choices(ROLE_CHOICES))
    .option('--password-stdin', 'read the password from standard input (12+ characters)')
    .option('--no-password', 'no password: the user signs in with API tokens only (`trib tokens add`)')
    .action(async (name: string, role: string, opts: { passwordStdin?: boolean; password: boolean }) => {
      const { generatePassword, checkRole } = await import('../../dashboard/users.ts');
      const password = !opts.password ? null : opts.passwordStdin ? await readStdin() : generatePassword();
      await withUsers('users.add', `user ${name}`, (store) => store.add(name, checkRole(role), password));
      console.log(`user ${name} added (${role})`);
      if (password !== null && !opts.passwordStdin) console.log(`password ${password}   (shown once; \`trib users password ${name}\` sets another)`);
    });
  users.command('list').description('users with role, password set or not, live tokens').action(async () => {
    const rows = await withUsers(null, null, (store) => store.list());
    console.log(table(['USER', 'ROLE', 'PASSWORD', 'TOKENS', 'CREATED'], rows.map((u) => [u.name, u.role, u.hasPassword ? 'set' : 'none', String(u.tokens), formatDate(u.createdAt)])));
  });
  users.command('role')
    .description('change a user\'s role (applies at the user\'s next request)')
    .argument('<name>', 'user name')
    .addArgument(new Argument('<role>', 'new role').choices(ROLE_CHOICES))
    .action(async (name: string, role: string) => {
      const { checkRole } = await import('../../dashboard/users.ts');
      await withUsers('users.role', `user ${name}`, (store) => store.setRole(name, checkRole(role)));
      console.log(`user ${name} is now ${role}`);
    });
  users.command('password')
    .description('set a new password (generated and printed once unless --password-stdin); ends the user\'s sessions')
    .argument('<name>', 'user name')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (name: string, opts: { passwordStdin?: boolean }) => {
      const { generatePassword } = await import('../../dashboard/users.ts');
      const password = opts.passwordStdin ? await readStdin() : generatePassword();
      const ended = await withUsers('users.password', `user ${name}`, (store) => store.setPassword(name, password));
      console.log(`password of ${name} changed; ${ended} session(s) ended`);
      if (!opts.passwordStdin) console.log(`password ${password}   (shown once)`);
    });
  users.command('remove')
    .description('remove a user with its tokens and sessions')
    .argument('<name>', 'user name')
    .action(async (name: string) => {
      await withUsers('users.remove', `user ${name}`, (store) => store.remove(name));
      console.log(`user ${name} removed, with its tokens and sessions`);
    });

  const tokens = program.command('tokens').description('API tokens of named users (Authorization: Bearer trib_…), revocable one by one');
  tokens.command('add')
    .description('make a token for a user; prints it once')
    .argument('<user>', 'user name')
    .option('--label <text>', 'what the token is for, e.g. "nightly export script"', '')
    .action(async (user: string, opts: { label: string }) => {
      const made = await withUsers('tokens.add', `user ${user}`, (store) => store.addToken(user, opts.label));
      console.log(`token ${made.id} for ${user}: ${made.token}   (shown once; \`trib tokens revoke ${made.id}\` ends it)`);
    });
  tokens.command('list')
    .description('tokens (all, or one user\'s) with label, creation, last use, revocation')
    .argument('[user]', 'only this user\'s')
    .action(async (user: string | undefined) => {
      const rows = await withUsers(null, null, (store) => store.listTokens(user));
      console.log(table(['ID', 'USER', 'LABEL', 'CREATED', 'LAST USED', 'REVOKED'],
        rows.map((t) => [t.id, t.userName, t.label, formatDate(t.createdAt), formatDate(t.lastUsedAt), formatDate(t.revokedAt)])));
    });
  tokens.command('revoke')
    .description('end a token at once')
    .argument('<id>', 'token id (the part after trib_, as `trib tokens list` shows it)')
    .action(async (id: string) => {
      await withUsers('tokens.revoke', `token ${id}`, (store) => store.revokeToken(id));
      console.log(`token ${id} revoked`);
    });

  program.command('audit')
    .description('the audit log, newest first: logins and operator actions from the dashboard, the API and the CLI')
    .option('--user <name>', 'only this actor (a user, `token`, `cli:<os user>`)')
    .option('--action <action>', 'only this action, e.g. trigger, login, pause')
    .option('--limit <n>', 'rows to show', positiveIntArg('--limit'), 50)
    .action(async (opts: { user?: string; action?: string; limit: number }) => {
      const [{ withRecord }, { listAudit }] = await Promise.all([import('../find-database.ts'), import('../../engine/audit-log.ts')]);
      const rows = await withRecord((pool) => listAudit(pool, { actor: opts.user, action: opts.action, limit: opts.limit }));
      console.log(table(['ID', 'AT', 'USER', 'VIA', 'ACTION', 'TARGET', 'OUTCOME', 'ADDRESS', 'PARAMS / DETAIL'], rows.map((r) => [
        String(r.id), formatDate(r.at), r.role ? `${r.actor} (${r.role})` : r.actor, r.via, r.action, r.target ?? '',
        r.status === null ? r.outcome : `${r.outcome} ${r.status}`, r.address ?? '', [r.params === null ? '' : JSON.stringify(r.params), r.detail ?? ''].filter(Boolean).join(' '),
      ])));
    });
}
