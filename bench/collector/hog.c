/* bench/collector/hog.c — a CPU-bound neighbour for shared.sh: counts
 * rounds of an empty loop until SIGTERM or SIGINT, then prints how many
 * (thousands of iterations). Its count is the CPU it got. */
#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	unsigned long rounds = 0;

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stop) {
		for (int i = 0; i < 1000; i++)
			__asm__ volatile("");
		rounds++;
	}
	printf("%lu\n", rounds);
	return 0;
}
