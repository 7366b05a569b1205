/*
 * fuzz-config.c - libFuzzer target for the luci-scheduler.cfg reader and
 * validator: any bytes must give a model or diagnostics, never a crash, an
 * out-of-bounds read, a leak or a hang.
 */
#include "base/compat.h"

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg_diags diags;
    struct cfg_project *p = NULL;

    cfg_diags_init(&diags);
    if (cfg_project_parse((const char *)data, size, &p, &diags) == 0) {
        struct cfg_validate_options opts = {.project = "fuzz"};
        cfg_validate(p, &opts, &diags);
        opts.strict_luci = true;
        cfg_validate(p, &opts, &diags);
        /* Walk the model so that a dangling pointer in it is found. */
        for (size_t i = 0; i < p->n_jobs; i++) {
            const struct cfg_job *j = &p->jobs[i];
            size_t n = strlen(j->id) + strlen(j->effective_schedule) + strlen(j->realm);
            for (size_t k = 0; k < j->triggers.n; k++)
                n += strlen(j->triggers.v[k]);
            if (n == SIZE_MAX)
                abort();
            if (cfg_project_find(p, j->id) == NULL)
                abort(); /* every id must be found */
        }
    }
    struct buf line;
    buf_init(&line, 1u << 20);
    for (size_t i = 0; i < diags.n; i++) {
        buf_reset(&line);
        cfg_diag_format(&diags.v[i], "fuzz.cfg", &line);
    }
    buf_release(&line);
    cfg_project_free(p);
    cfg_diags_release(&diags);
    return 0;
}
