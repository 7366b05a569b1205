/*
 * bench-config.c - reading and validating one luci-scheduler.cfg.
 *
 *   bench-config FILE [ROUNDS]
 *
 * Reads FILE into memory once, then parses and validates it ROUNDS times
 * (default 20) on one core, and prints the best and median time per round
 * and the throughput.  Target (issue 2): golang__build's 2.1 MB file in
 * under 30 ms.
 */
#include "base/compat.h"

#include <time.h>

#include "base/file.h"
#include "base/limits.h"
#include "config/config.h"

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-config FILE [ROUNDS]\n");
        return 2;
    }
    long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 20;
    if (rounds < 1 || rounds > 10000)
        rounds = 20;
    char *data;
    size_t len;
    int r = file_read_all(argv[1], LIMIT_CONFIG_FILE_BYTES, &data, &len);
    if (r < 0) {
        fprintf(stderr, "%s: %s\n", argv[1], strerror(-r));
        return 2;
    }

    double *times = calloc((size_t)rounds, sizeof(double));
    size_t jobs = 0, errors = 0;
    for (long i = 0; i < rounds && times; i++) {
        struct cfg_diags diags;
        struct cfg_project *p = NULL;
        cfg_diags_init(&diags);
        double t0 = now_sec();
        if (cfg_project_parse(data, len, &p, &diags) == 0) {
            struct cfg_validate_options opts = {.project = "bench"};
            cfg_validate(p, &opts, &diags);
            jobs = p->n_jobs;
        }
        times[i] = now_sec() - t0;
        errors = diags.n_errors;
        cfg_project_free(p);
        cfg_diags_release(&diags);
    }
    if (!times)
        return 2;
    qsort(times, (size_t)rounds, sizeof(double), compare_doubles);
    double best = times[0], median = times[rounds / 2];
    printf("%s\n", argv[1]);
    printf("  %zu bytes, %zu jobs+triggers, %zu errors\n", len, jobs, errors);
    printf("  parse+validate: best %.2f ms, median %.2f ms over %ld rounds\n", best * 1e3,
           median * 1e3, rounds);
    printf("  throughput: %.1f MB/s (best), %.1f MB/s (median)\n", (double)len / best / 1e6,
           (double)len / median / 1e6);
    free(times);
    free(data);
    return 0;
}
