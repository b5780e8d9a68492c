/* qemu_work - QEMU user mode (qemu-x86_64, TCG): a stock x86-64 program
 * whose work goes through many different libc paths (qsort with a callback,
 * printf formatting and strtod parsing, POSIX regex, string hashing, floating
 * point), so the translator keeps generating blocks into its 128 MiB
 * code_gen_buffer (one mprotect RWX, written with no further call) while the
 * hot blocks run.  Built by the test with gcc; one deterministic result line. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 36

static unsigned lcg(unsigned x)
{
	return (x * 1103515245u + 12345u) & 0x7fffffffu;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static unsigned long fib(int n)
{
	return n < 2 ? (unsigned long)n : fib(n - 1) + fib(n - 2);
}

static unsigned long round_work(unsigned r, regex_t *re)
{
	static int arr[20000];
	char buf[128];
	unsigned long acc = fib(20);
	unsigned x = r;
	double d = 0;

	for (size_t i = 0; i < sizeof arr / sizeof arr[0]; i++) {
		x = lcg(x);
		arr[i] = (int)(x % 100000);
	}
	qsort(arr, sizeof arr / sizeof arr[0], sizeof arr[0], cmp_int);
	acc += (unsigned long)arr[10000];
	for (int i = 0; i < 4000; i++) {
		x = lcg(x);
		snprintf(buf, sizeof buf, "k%u=%.3f;%x %s", x % 1000, (x % 100000) / 7.0, x, i & 1 ? "odd" : "even");
		d += strtod(strchr(buf, '=') + 1, NULL);
		if (regexec(re, buf, 0, NULL, 0) == 0)
			acc += 3;
		for (const char *p = buf; *p; p++)
			acc = acc * 31 + (unsigned char)*p;
		acc &= 0xffffffffffful;
	}
	return (acc + (unsigned long)d) & 0xffffffffffful;
}

int main(void)
{
	regex_t re;
	unsigned long acc = 0;

	if (regcomp(&re, "^k[0-9]*7=[0-9]+\\.[0-9]{3};[0-9a-f]+ (odd|even)$", REG_EXTENDED | REG_NOSUB) != 0)
		return 2;
	for (unsigned r = 0; r < ROUNDS; r++)
		acc = (acc + round_work(r, &re)) & 0xffffffffffful;
	regfree(&re);
	printf("qemu_work: rounds=%d result=%lu\n", ROUNDS, acc);
	return 0;
}
