// gjs_work - gjs (SpiderMonkey 102): hot numeric loops, long enough for the
// baseline JIT and then Ion (W^X toggled code pages) to compile them.
// One deterministic result line.
const ROUNDS = 36;

function lcg(x) {
    return (Math.imul(x, 1103515245) + 12345) & 0x7fffffff;
}

function fib(n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

function sieve(n) {
    const composite = new Uint8Array(n + 1);
    let sum = 0;
    for (let i = 2; i <= n; i++) {
        if (composite[i])
            continue;
        sum += i;
        for (let j = i * i; j <= n; j += i)
            composite[j] = 1;
    }
    return sum;
}

function matmul(n, seed) {
    const a = new Float64Array(n * n), b = new Float64Array(n * n), c = new Float64Array(n * n);
    let x = seed;
    for (let i = 0; i < n * n; i++) {
        x = lcg(x);
        a[i] = x % 100;
        x = lcg(x);
        b[i] = x % 100;
    }
    for (let i = 0; i < n; i++)
        for (let k = 0; k < n; k++) {
            const aik = a[i * n + k];
            for (let j = 0; j < n; j++)
                c[i * n + j] += aik * b[k * n + j];
        }
    let s = 0;
    for (let i = 0; i < n; i++)
        s += c[i * n + (i * 7) % n];
    return s;
}

function words(seed) {
    const m = new Map();
    let x = seed;
    for (let i = 0; i < 20000; i++) {
        x = lcg(x);
        const w = 'w' + (x % 997);
        m.set(w, (m.get(w) || 0) + 1);
    }
    let s = 0;
    for (const [w, c] of m)
        s += w.length * c;
    return s;
}

let acc = 0;
for (let r = 0; r < ROUNDS; r++) {
    acc += fib(22);
    acc += sieve(200000);
    acc += matmul(48, r);
    const arr = new Int32Array(20000);
    let x = r;
    for (let i = 0; i < arr.length; i++) {
        x = lcg(x);
        arr[i] = x % 100000;
    }
    arr.sort();
    acc += arr[arr.length >> 1];
    acc += words(r + 7);
    acc %= 0xfffffffffff;
}
print(`gjs_work: rounds=${ROUNDS} result=${acc}`);
