/*
 * table.c - aligned text tables of the client commands; see table.h.
 */
#include "base/compat.h"
#include "cli/table.h"

int cli_table_init(struct cli_table *t, size_t ncols, const char *const *headers)
{
    memset(t, 0, sizeof(*t));
    if (ncols == 0 || ncols > CLI_TABLE_MAX_COLS)
        return -EINVAL;
    t->ncols = ncols;
    t->nrows = (size_t)-1; /* the header row is added as row 0 */
    int r = cli_table_add(t, headers);
    if (r < 0)
        cli_table_release(t);
    return r;
}

int cli_table_add(struct cli_table *t, const char *const *cells)
{
    size_t rows = t->nrows + 1; /* rows stored so far, header included */

    if (rows > CLI_TABLE_MAX_ROWS)
        return -E2BIG;
    if ((rows + 1) * t->ncols > t->alloc) {
        size_t a = t->alloc ? t->alloc * 2 : 16 * t->ncols;
        char **v = realloc(t->cells, a * sizeof(*v));
        if (!v)
            return -ENOMEM;
        t->cells = v;
        t->alloc = a;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        char *s = strdup(cells[i] ? cells[i] : "");
        if (!s) {
            while (i-- > 0)
                free(t->cells[rows * t->ncols + i]);
            return -ENOMEM;
        }
        t->cells[rows * t->ncols + i] = s;
    }
    t->nrows++;
    return 0;
}

/* Width in characters: UTF-8 continuation bytes don't count. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

void cli_table_print(const struct cli_table *t, FILE *f)
{
    size_t width[CLI_TABLE_MAX_COLS] = {0};

    if (!t->cells)
        return;
    for (size_t r = 0; r <= t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r <= t->nrows; r++) {
        /* Trailing empty cells would only print spaces: find the last one. */
        size_t last = t->ncols;
        while (last > 1 && !t->cells[r * t->ncols + last - 1][0])
            last--;
        for (size_t c = 0; c < last; c++) {
            const char *s = t->cells[r * t->ncols + c];
            fputs(s, f);
            if (c + 1 < last)
                for (size_t pad = text_width(s); pad < width[c] + 2; pad++)
                    fputc(' ', f);
        }
        fputc('\n', f);
    }
}

void cli_table_release(struct cli_table *t)
{
    if (t->cells)
        for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
            free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}
