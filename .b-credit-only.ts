const m = await import(process.cwd() + '/bench/pipelines-credit.ts');
const r = await m.benchCreditPlatform();
const { tasks, ...rest } = r;
console.log(JSON.stringify(rest), JSON.stringify(tasks));
