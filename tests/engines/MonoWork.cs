// MonoWork - Mono (6.8, mini JIT): methods compiled on first call into
// code chunks Mono maps RWX once and fills with no further call; generic
// collections give it many methods to compile.  One deterministic result line.
using System;
using System.Collections.Generic;
using System.Text;

public static class MonoWork {
    const int Rounds = 110;

    static int Lcg(int x) {
        return (int) (((uint) x * 1103515245u + 12345u) & 0x7fffffffu);
    }

    static int Fib(int n) {
        return n < 2 ? n : Fib(n - 1) + Fib(n - 2);
    }

    static long Sieve(int n) {
        bool[] composite = new bool[n + 1];
        long sum = 0;
        for (int i = 2; i <= n; i++) {
            if (composite[i])
                continue;
            sum += i;
            for (long j = (long) i * i; j <= n; j += i)
                composite[j] = true;
        }
        return sum;
    }

    static long MatMul(int n, int seed) {
        double[,] a = new double[n, n], b = new double[n, n], c = new double[n, n];
        int x = seed;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                x = Lcg(x);
                a[i, j] = x % 100;
                x = Lcg(x);
                b[i, j] = x % 100;
            }
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++) {
                double aik = a[i, k];
                for (int j = 0; j < n; j++)
                    c[i, j] += aik * b[k, j];
            }
        long s = 0;
        for (int i = 0; i < n; i++)
            s += (long) c[i, (i * 7) % n];
        return s;
    }

    static long Words(int seed) {
        var m = new Dictionary<string, int>();
        var sb = new StringBuilder();
        int x = seed;
        for (int i = 0; i < 20000; i++) {
            x = Lcg(x);
            sb.Clear();
            sb.Append('w').Append(x % 997);
            string w = sb.ToString();
            int c;
            m.TryGetValue(w, out c);
            m[w] = c + 1;
        }
        long s = 0;
        foreach (var e in m)
            s += (long) e.Key.Length * e.Value;
        return s;
    }

    public static int Main() {
        long acc = 0;
        for (int r = 0; r < Rounds; r++) {
            acc += Fib(22);
            acc += Sieve(200000);
            acc += MatMul(48, r);
            var arr = new List<int>(20000);
            int x = r;
            for (int i = 0; i < 20000; i++) {
                x = Lcg(x);
                arr.Add(x % 100000);
            }
            arr.Sort();
            acc += arr[arr.Count / 2];
            acc += Words(r + 7);
            acc &= 0xfffffffffffL;
        }
        Console.WriteLine("MonoWork: rounds=" + Rounds + " result=" + acc);
        return 0;
    }
}
