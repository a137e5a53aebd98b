import type { Command } from 'commander';

/**
 * One or more examples at the end of every command's --help, by command path. A command without
 * an entry here fails test/cliConventions.int.spec.ts.
 */
export const HELP_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  payrun: [
    'payrun transactions.csv > accounts.csv',
    'payrun --rejects rejects.csv -o accounts.csv transactions.csv',
    'cat transactions.csv | payrun - --strict',
    'payrun --journal ledger/ day1.csv > accounts.csv   # then day2.csv, ...; resumable',
    'payrun --format json --summary-json summary.json transactions.csv',
    'payrun generate -n 1000000 -c 5000 --seed 7 tx.csv',
    'payrun publish tx.csv --redis redis://127.0.0.1:6379    # cluster mode: see the README',
  ],
  'payrun generate': [
    'payrun generate -n 1000000 -c 5000 --seed 7 --expected expected.csv tx.csv',
    'payrun generate -n 1000 -c 50 --seed 1 --first-tx 1 day1.csv      # prints where the next file starts',
    'payrun generate -n 1000 -c 50 --seed 2 --first-tx 1313 day2.csv',
  ],
  'payrun stream': ['tail -n +1 -f tx.csv | payrun stream --journal ledger/ --source tx --accounts accounts.csv   # a restart skips what tx applied'],
  'payrun publish': ['REDIS_PASSWORD=secret payrun publish tx.csv --redis redis://10.0.0.5:6379 --partitions 16'],
  'payrun consume': ['payrun consume --redis redis://10.0.0.5:6379 --owner node-a --metrics-port 9464'],
  'payrun accounts': ['payrun accounts --redis redis://10.0.0.5:6379 --wait --timeout 120 > accounts.csv'],
  'payrun relay': [
    'PAYRUN_RELAY_AUTHORIZATION="Bearer $TOKEN" payrun relay --from events.ndjson --to https://payouts.example/v1/events --state relay-state/ --rate 50/s',
    'payrun stream < tx.csv | payrun relay --from - --to http://127.0.0.1:8080/events --state relay-state/ --types withdrawal',
    'payrun relay --from redis://10.0.0.5:6379 --to https://payouts.example/v1/events --dead-letter dead.ndjson   # the cluster, until SIGTERM',
  ],
  'payrun events': ['payrun events --redis-cluster redis://10.0.0.5:7000,redis://10.0.0.6:7000 | grep DUPLICATE_TX'],
  'payrun journal': ['payrun journal verify ledger/', 'payrun journal replay ledger/ --until-line 5000 --input 2 -o accounts-then.csv'],
  'payrun journal verify': ['payrun journal verify ledger/ && echo intact'],
  'payrun journal replay': [
    'payrun journal replay ledger/ > accounts.csv                     # the accounts from the journal alone',
    'payrun journal replay ledger/ --until-line 5000 --input 2 -o accounts-then.csv',
  ],
  'payrun journal abandon': ['payrun journal abandon ledger/ && payrun --journal ledger/ day3.csv > accounts.csv'],
  'payrun journal history': ['payrun journal history ledger/ --client 7 --format ndjson | grep INSUFFICIENT_FUNDS'],
};

/** The path of a command as its examples are keyed: 'payrun journal replay'. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Adds its examples to the --help of `command` and of every command under it. */
export function addHelpExamples(command: Command): void {
  const examples = HELP_EXAMPLES[commandPath(command)];
  if (examples !== undefined) {
    const title = examples.length === 1 ? 'Example' : 'Examples';
    command.addHelpText('after', `\n${title}:\n${examples.map((line) => `  ${line}\n`).join('')}`);
  }
  for (const sub of command.commands) addHelpExamples(sub);
}
