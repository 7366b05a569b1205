/*
 * task.c - invocation status names and the debug-log helper of task.h.
 */
#include "tasks/task.h"

#include <stdarg.h>

static const char *const status_names[_INV_STATUS_MAX] = {
    [INV_STARTING] = "STARTING",   [INV_RETRYING] = "RETRYING", [INV_RUNNING] = "RUNNING",
    [INV_SUCCEEDED] = "SUCCEEDED", [INV_FAILED] = "FAILED",     [INV_OVERRUN] = "OVERRUN",
    [INV_ABORTED] = "ABORTED",
};

const char *inv_status_name(enum inv_status s)
{
    if ((unsigned)s >= _INV_STATUS_MAX)
        return "UNKNOWN";
    return status_names[s];
}

int inv_status_from_name(const char *name)
{
    if (!name)
        return -EINVAL;
    for (int i = 0; i < _INV_STATUS_MAX; i++)
        if (strcmp(name, status_names[i]) == 0)
            return i;
    return -EINVAL;
}

bool inv_status_is_final(enum inv_status s)
{
    return s == INV_SUCCEEDED || s == INV_FAILED || s == INV_OVERRUN || s == INV_ABORTED;
}

bool inv_status_is_initial(enum inv_status s)
{
    return s == INV_STARTING || s == INV_RETRYING;
}

/*
 * Lines longer than this are cut (the debug log itself is trimmed at
 * 200 000 bytes by the engine; one line never needs more than that).
 */
#define TASK_LOG_LINE_MAX (16u * 1024)

void task_ctl_logf(struct task_ctl *c, const char *fmt, ...)
{
    char *line = malloc(TASK_LOG_LINE_MAX);
    va_list ap;

    if (!line) {
        c->ops->log(c, "(out of memory formatting a log line)");
        return;
    }
    va_start(ap, fmt);
    int n = vsnprintf(line, TASK_LOG_LINE_MAX, fmt, ap);
    va_end(ap);
    if (n < 0)
        c->ops->log(c, "(bad log line format)");
    else
        c->ops->log(c, line);
    free(line);
}
