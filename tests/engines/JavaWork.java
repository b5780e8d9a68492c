// JavaWork - HotSpot (OpenJDK 17): hot methods run long enough for C1 and
// then C2 to compile them into the code cache (a large PROT_NONE reservation
// committed RWX in parts, written with no further call); one deterministic
// result line.
public final class JavaWork {
    static final int ROUNDS = 60;

    static int lcg(int x) {
        return (x * 1103515245 + 12345) & 0x7fffffff;
    }

    static int fib(int n) {
        return n < 2 ? n : fib(n - 1) + fib(n - 2);
    }

    static long sieve(int n) {
        boolean[] composite = new boolean[n + 1];
        long sum = 0;
        for (int i = 2; i <= n; i++) {
            if (composite[i])
                continue;
            sum += i;
            for (long j = (long) i * i; j <= n; j += i)
                composite[(int) j] = true;
        }
        return sum;
    }

    static long matmul(int n, int seed) {
        double[][] a = new double[n][n], b = new double[n][n], c = new double[n][n];
        int x = seed;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                x = lcg(x);
                a[i][j] = x % 100;
                x = lcg(x);
                b[i][j] = x % 100;
            }
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++) {
                double aik = a[i][k];
                for (int j = 0; j < n; j++)
                    c[i][j] += aik * b[k][j];
            }
        long s = 0;
        for (int i = 0; i < n; i++)
            s += (long) c[i][(i * 7) % n];
        return s;
    }

    static long words(int seed) {
        java.util.HashMap<String, Integer> m = new java.util.HashMap<>();
        StringBuilder sb = new StringBuilder();
        int x = seed;
        for (int i = 0; i < 20000; i++) {
            x = lcg(x);
            sb.setLength(0);
            sb.append('w').append(x % 997);
            m.merge(sb.toString(), 1, Integer::sum);
        }
        long s = 0;
        for (java.util.Map.Entry<String, Integer> e : m.entrySet())
            s += (long) e.getKey().length() * e.getValue();
        return s;
    }

    public static void main(String[] args) {
        long acc = 0;
        for (int r = 0; r < ROUNDS; r++) {
            acc += fib(22);
            acc += sieve(200000);
            acc += matmul(64, r);
            int[] arr = new int[20000];
            int x = r;
            for (int i = 0; i < arr.length; i++) {
                x = lcg(x);
                arr[i] = x % 100000;
            }
            java.util.Arrays.sort(arr);
            acc += arr[arr.length / 2];
            acc += words(r + 7);
            acc &= 0xfffffffffffL;
        }
        System.out.println("JavaWork: rounds=" + ROUNDS + " result=" + acc);
    }
}
