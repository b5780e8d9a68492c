/* threads.c - several threads generating code concurrently, each in its own region (RWX or W^X), and running it. */
#include <pthread.h>

#include "jitlib.h"

#define NTHREADS 4
#define AREA (64u << 10)

static double per_thread;

static void *worker(void *arg)
{
	int t = (int)(uintptr_t)arg, i;
	int wx = t % 2;
	struct jl_func f[2];
	struct jl_buf b;
	uint8_t *area;

	area = jl_mmap(NULL, AREA, wx ? PROT_READ | PROT_WRITE : PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	jl_buf_init(&b, area, (uintptr_t)area, AREA);
	for (i = 0; i < 2; i++) {
		char label[32];

		snprintf(label, sizeof(label), "thread%d_%d", t, i);
		if (wx && i)
			jl_mprotect(area, AREA, PROT_READ | PROT_WRITE);
		f[i] = jl_add(&b, 1200 + 10 * t + i, label);
		if (wx)
			jl_mprotect(area, AREA, PROT_READ | PROT_EXEC);
		jl_check(&f[i]);
		jl_run_for(&f[i], per_thread / 2);
	}
	for (i = 0; i < 2; i++)
		jl_report(&f[i], 1);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	int t, err;

	jl_init(argv[0]);
	per_thread = jl_seconds(1.6) / NTHREADS;
	for (t = 0; t < NTHREADS; t++) {
		err = pthread_create(&th[t], NULL, worker, (void *)(uintptr_t)t);
		if (err)
			jl_die("pthread_create: %s", strerror(err));
	}
	for (t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	return 0;
}
