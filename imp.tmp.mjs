const cpu = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
const out = [];
let last = cpu(), lastW = performance.now();
out.push(`start ${lastW.toFixed(0)}w ${last.toFixed(0)}c`);
for (const m of process.argv.slice(2)) {
  await import(m);
  const c = cpu(), w = performance.now();
  out.push(`${m.replace(/.*\/(dist|node_modules)\//,'')}: +${(w-lastW).toFixed(0)}w +${(c-last).toFixed(0)}c`);
  last = c; lastW = w;
}
console.log(out.join(' | '));
