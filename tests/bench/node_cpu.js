// node_cpu.js - a CPU-bound node workload with a fixed amount of work that keeps V8 compiling: hot numeric kernels, a stream of freshly generated functions that tier up, and generated regular expressions (irregexp native code).
//
// Usage: node node_cpu.js [SCALE]   (SCALE 1 is about 2 s on this machine kind)
'use strict';

const scale = Number(process.argv[2] || 1);

// Hot kernels: optimized once, run for most of the time.
function mix(a, b) {
	let x = (a ^ (b << 7)) >>> 0;
	x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) >>> 0;
	return (x ^ (x >>> 12)) >>> 0;
}

function kernel(n, seed) {
	let h = seed >>> 0;
	for (let i = 0; i < n; i++)
		h = mix(h, i);
	return h;
}

function sieve(n) {
	const s = new Uint8Array(n + 1);
	let c = 0;
	for (let i = 2; i <= n; i++) {
		if (s[i])
			continue;
		c++;
		for (let j = i * i; j <= n; j += i)
			s[j] = 1;
	}
	return c;
}

// A steady stream of new code: every generated function has its own
// constants and shape, is called enough to reach baseline (and sometimes
// optimized) code, then dropped.
function fresh(k) {
	const body = [];
	body.push('let acc = ' + (k * 2654435761 >>> 0) + ';');
	body.push('for (let i = 0; i < n; i++) {');
	for (let j = 0; j < 3 + (k % 5); j++)
		body.push('  acc = (Math.imul(acc ^ ' + ((k * 31 + j * 17) & 0xffff) + ', ' + (2 * k + 2 * j + 1) + ') + i) >>> 0;');
	if (k % 3 === 0)
		body.push('  if ((acc & 7) === ' + (k % 8) + ') acc ^= i << ' + (k % 13) + ';');
	body.push('}');
	body.push('return acc;');
	// eslint-disable-next-line no-new-func
	return new Function('n', body.join('\n'));
}

function regexes(k, text) {
	const words = ['perf', 'jit', 'dump', 'code', 'map', 'trace', 'load', 'symbol'];
	const w = words[k % words.length] + (k % 10);
	const re = new RegExp('\\b' + w + '[a-z]{0,' + (k % 4 + 1) + '}\\d*\\b', 'g');
	let m = 0;
	while (re.exec(text) !== null)
		m++;
	return m;
}

function makeText() {
	const parts = [];
	let x = 1;
	for (let i = 0; i < 20000; i++) {
		x = mix(x, i);
		parts.push(['perf', 'jit', 'dump', 'code', 'map', 'trace', 'load', 'symbol'][x & 7] + (x % 10) + (x % 3 ? 'ab' : ''));
	}
	return parts.join(' ');
}

const text = makeText();
let total = 0;
const rounds = Math.round(800 * scale);
for (let r = 0; r < rounds; r++) {
	total = (total + kernel(150000, r)) >>> 0;
	if (r % 8 === 0)
		total = (total + sieve(30000)) >>> 0;
	const f = fresh(r);
	for (let c = 0; c < 40; c++)
		total = (total + f(200 + c)) >>> 0;
	if (r % 4 === 0)
		total = (total + regexes(r, text.slice((r * 997) % 50000, (r * 997) % 50000 + 20000))) >>> 0;
}
console.log('node_cpu: rounds=' + rounds + ' total=' + total);
