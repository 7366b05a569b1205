/*
 * table.h - aligned text tables for the client commands' output.
 */
#ifndef TOCK_CLI_TABLE_H
#define TOCK_CLI_TABLE_H

#include "base/compat.h"

/*
 * A text table with aligned columns: a header row, then rows, every cell
 * padded to its column's widest cell (counted in UTF-8 characters), two
 * spaces between columns, no trailing spaces.  Cells are copied.
 */
#define CLI_TABLE_MAX_COLS 8
#define CLI_TABLE_MAX_ROWS 1000000

struct cli_table {
    size_t ncols;
    size_t nrows; /* not counting the header */
    size_t alloc;
    char **cells; /* (nrows + 1) * ncols, row-major; row 0 is the header */
};

/* Starts a table with ncols (1..CLI_TABLE_MAX_COLS) header cells. */
int cli_table_init(struct cli_table *t, size_t ncols, const char *const *headers);

/* Adds a row of t->ncols cells (NULL cells print as "").  0, -E2BIG, -ENOMEM. */
int cli_table_add(struct cli_table *t, const char *const *cells);

void cli_table_print(const struct cli_table *t, FILE *f);
void cli_table_release(struct cli_table *t);

#endif
