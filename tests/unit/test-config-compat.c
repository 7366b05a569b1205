/*
 * Compatibility test: the real luci-scheduler.cfg corpus.
 *
 * Reads the corpus in place from $TOCK_COMPAT_DIR, else from
 * TOCK_TEST_DATA/../../../shared/compat/configs; skips when it is absent.
 * Checks, for every file of expected_counts.tsv:
 *   main            parses; job and trigger counts as listed; validates with
 *                   no error, except four files with real mistakes, which
 *                   give exactly the errors below (found by reading them);
 *   _luci_testdata  LUCI's own verdicts;
 *   _invalid,
 *   _legacy         at least one error with a line number, and no crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "base/buf.h"
#include "base/limits.h"
#include "config/config.h"

struct known_error {
    const char *file;
    const char *diag; /* as formatted by cfg_diag_format */
};

/* The only errors the main files may give (default level). */
static const struct known_error known_errors[] = {
    { "NDevTK__infra/luci-scheduler.2017-10-17-2ce7d576.cfg",
      "NDevTK__infra/luci-scheduler.2017-10-17-2ce7d576.cfg:88:3: error: "
      "(job / infra-continuous-trusty-64): duplicate id \"infra-continuous-trusty-64\"" },
    { "NDevTK__infra/infra__config__luci-scheduler.2019-03-29-cf7e7a54.cfg",
      "NDevTK__infra/infra__config__luci-scheduler.2019-03-29-cf7e7a54.cfg:86:3: error: "
      "(job / infra-continuous-trusty-64): duplicate id \"infra-continuous-trusty-64\"" },
    { "khromiumos__chromiumos-chromite/config__luci-scheduler.2019-04-24-53160a83.cfg",
      "khromiumos__chromiumos-chromite/config__luci-scheduler.2019-04-24-53160a83.cfg:3210:3: "
      "error: (job / release-R73-11647.B-master-lakitu-release): duplicate id "
      "\"release-R73-11647.B-master-lakitu-release\"" },
    { "NDevTK__infra/infra__config__generated__luci-scheduler.2019-03-27-1b521606.cfg",
      "NDevTK__infra/infra__config__generated__luci-scheduler.2019-03-27-1b521606.cfg:23:3: "
      "error: (job / Chromium Gatekeeper): with 1 min interval is not valid value for "
      "'schedule' field - expecting format \"with <duration> interval\"" },
};

/* LUCI's verdicts on its own test configs (catalog_test.go). */
static const struct known_error luci_verdicts[] = {
    { "_luci_testdata/luci__luci-go/scheduler__appengine__catalog__catalog_test.go."
      "project2Cfg.cfg",
      "_luci_testdata/luci__luci-go/scheduler__appengine__catalog__catalog_test.go."
      "project2Cfg.cfg:14:2: error: (trigger / trigger): referencing unknown job "
      "\"noop-job-2\" in 'triggers' field" },
    { "_luci_testdata/luci__luci-go/scheduler__appengine__catalog__catalog_test.go."
      "project2Cfg.2019-05-6f987205.cfg",
      "_luci_testdata/luci__luci-go/scheduler__appengine__catalog__catalog_test.go."
      "project2Cfg.2019-05-6f987205.cfg:24:2: error: (trigger / trigger): referencing unknown "
      "job \"noop-job-2\" in 'triggers' field" },
};

static char compat_dir[4096];

static bool find_corpus(void)
{
    const char *env = getenv("TOCK_COMPAT_DIR");
    if (env && env[0])
        snprintf(compat_dir, sizeof(compat_dir), "%s", env);
    else
        snprintf(compat_dir, sizeof(compat_dir), "%s/../../../shared/compat/configs",
                 TOCK_TEST_DATA);
    char tsv[4200];
    struct stat st;
    snprintf(tsv, sizeof(tsv), "%s/expected_counts.tsv", compat_dir);
    return stat(tsv, &st) == 0;
}

static char *read_file(const char *rel, size_t *ret_len)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/%s", compat_dir, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b;
    buf_init(&b, LIMIT_CONFIG_FILE_BYTES);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(buf_append(&b, chunk, n), 0);
    fclose(f);
    return buf_detach(&b, ret_len);
}

struct result {
    int parse_rc;
    size_t jobs, triggers;
    struct buf errors;   /* formatted error lines */
    struct buf warnings; /* formatted warning lines */
    size_t n_errors, n_warnings;
    bool all_errors_have_lines;
};

static void check_file(const char *rel, bool strict, struct result *res)
{
    size_t len = 0;
    char *data = read_file(rel, &len);
    if (!data) {
        print_error("%s: cannot read\n", rel);
        fail();
    }
    struct cfg_diags d;
    struct cfg_project *p = NULL;
    cfg_diags_init(&d);
    memset(res, 0, sizeof(*res));
    buf_init(&res->errors, 1 << 24);
    buf_init(&res->warnings, 1 << 24);
    res->parse_rc = cfg_project_parse(data, len, &p, &d);
    if (res->parse_rc == 0) {
        res->jobs = p->n_regular;
        res->triggers = p->n_triggers;
        struct cfg_validate_options o = { .strict_luci = strict, .project = "project" };
        assert_true(cfg_validate(p, &o, &d) >= 0);
    }
    res->all_errors_have_lines = true;
    for (size_t i = 0; i < d.n; i++) {
        struct buf *b = d.v[i].severity == CFG_SEV_ERROR ? &res->errors : &res->warnings;
        cfg_diag_format(&d.v[i], rel, b);
        buf_putc(b, '\n');
        if (d.v[i].severity == CFG_SEV_ERROR && d.v[i].pos.line == 0)
            res->all_errors_have_lines = false;
    }
    res->n_errors = d.n_errors;
    res->n_warnings = d.n_warnings;
    cfg_project_free(p);
    cfg_diags_release(&d);
    free(data);
}

static void release_result(struct result *r)
{
    buf_release(&r->errors);
    buf_release(&r->warnings);
}

static const char *expected_for(const struct known_error *list, size_t n, const char *file)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].file, file) == 0)
            return list[i].diag;
    return NULL;
}

static void test_corpus(void **state)
{
    (void)state;
    if (!find_corpus()) {
        print_message("corpus not found in %s (set TOCK_COMPAT_DIR); skipping\n", compat_dir);
        skip();
    }
    size_t len;
    char *tsv = read_file("expected_counts.tsv", &len);
    assert_non_null(tsv);

    size_t n_main = 0, n_luci = 0, n_bad = 0, known_seen = 0;
    char *save = NULL;
    for (char *line = strtok_r(tsv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char file[1024], category[64], parses[16];
        unsigned long jobs, triggers, acl_sets, edges;
        if (strncmp(line, "file\t", 5) == 0)
            continue;
        if (sscanf(line, "%1023[^\t]\t%63[^\t]\t%lu\t%lu\t%lu\t%lu\t%15s", file, category, &jobs,
                   &triggers, &acl_sets, &edges, parses) != 7) {
            print_error("bad tsv line: %s\n", line);
            fail();
        }
        struct result r;
        check_file(file, false, &r);
        if (strcmp(category, "main") == 0) {
            n_main++;
            if (r.parse_rc != 0 || r.jobs != jobs || r.triggers != triggers) {
                print_error("%s: rc %d, %zu jobs, %zu triggers; want 0, %lu, %lu\n", file,
                            r.parse_rc, r.jobs, r.triggers, jobs, triggers);
                fail();
            }
            const char *want = expected_for(known_errors, ARRAY_SIZE(known_errors), file);
            char want_line[2048];
            snprintf(want_line, sizeof(want_line), "%s\n", want ? want : "");
            if (strcmp(r.errors.data, want ? want_line : "") != 0) {
                print_error("%s: errors:\n%s--- want:\n%s", file, r.errors.data,
                            want ? want_line : "(none)\n");
                fail();
            }
            known_seen += want != NULL;
            /* strict_luci: everything LUCI rejects is an error; never fewer errors. */
            struct result s;
            check_file(file, true, &s);
            assert_true(s.n_errors >= r.n_errors);
            release_result(&s);
        } else if (strcmp(category, "_luci_testdata") == 0) {
            n_luci++;
            assert_int_equal(r.parse_rc, 0);
            assert_int_equal(r.jobs, jobs);
            assert_int_equal(r.triggers, triggers);
            const char *want = expected_for(luci_verdicts, ARRAY_SIZE(luci_verdicts), file);
            if (want) {
                char want_line[2048];
                snprintf(want_line, sizeof(want_line), "%s\n", want);
                assert_string_equal(r.errors.data, want_line);
            } else if (strstr(file, "project1Cfg")) {
                /* Its empty "buildbucket: {}" job is invalid, nothing else. */
                assert_int_equal(r.n_errors, 3);
                assert_non_null(strstr(r.errors.data, "(job / buildbucket-job / task): field "
                                                      "'server' is required"));
            } else {
                assert_string_equal(r.errors.data, "");
            }
        } else {
            n_bad++;
            if (r.n_errors < 1 || !r.all_errors_have_lines) {
                print_error("%s: want >= 1 error with a line number, got:\n%s", file,
                            r.errors.data);
                fail();
            }
            if (strcmp(parses, "no") == 0)
                assert_int_not_equal(r.parse_rc, 0);
        }
        release_result(&r);
    }
    free(tsv);
    assert_int_equal(n_main, 67);
    assert_int_equal(n_luci, 7);
    assert_int_equal(n_bad, 17);
    assert_int_equal(known_seen, ARRAY_SIZE(known_errors));
}

/* The leniencies the corpus needs, and what strict_luci says instead. */
static void test_corpus_leniencies(void **state)
{
    (void)state;
    if (!find_corpus())
        skip();
    struct result r, s;

    /* Legacy v1 bucket names (luci.<project>.<bucket>). */
    check_file("NDevTK__cel/infra__config__global__luci-scheduler.2021-08-11-2e96d958.cfg", false,
               &r);
    assert_int_equal(r.n_errors, 0);
    assert_int_equal(r.n_warnings, 3);
    assert_non_null(strstr(r.warnings.data, ":34:5: warning: (job / Linux / task): legacy v1 "
                                            "bucket names like \"luci.celab.ci\" are no longer "
                                            "allowed, use \"celab:ci\" instead (LUCI rejects"));
    check_file("NDevTK__cel/infra__config__global__luci-scheduler.2021-08-11-2e96d958.cfg", true,
               &s);
    assert_int_equal(s.n_errors, 3);
    assert_int_equal(s.n_warnings, 0);
    release_result(&r);
    release_result(&s);

    /* A bare branch name as a ref. */
    check_file("zanderso__infra/config__luci-scheduler.2019-01-15-ab24f8bf.cfg", true, &s);
    assert_non_null(strstr(s.errors.data, ":32:5: error: (trigger / master-gitiles-trigger-engine "
                                          "/ task / refs): ref must start with 'refs/' not "
                                          "\"master\"\n"));
    assert_non_null(strstr(s.errors.data, ":32:5: error: (trigger / master-gitiles-trigger-engine "
                                          "/ task / refs): fewer than 2 slashes in ref "
                                          "\"master\"\n"));
    release_result(&s);

    /* A glob ref: LUCI accepts it (as a literal); tock warns how it reads it. */
    check_file("khromiumos__chromiumos-chromite/luci-scheduler.2017-10-20-44b994d0.cfg", false,
               &r);
    assert_int_equal(r.n_errors, 0);
    assert_non_null(strstr(r.warnings.data, ":51:5: warning: (trigger / master-chromium-pfq-trigger"
                                            " / task / refs): LUCI reads \"refs/tags/*\""));
    check_file("khromiumos__chromiumos-chromite/luci-scheduler.2017-10-20-44b994d0.cfg", true, &s);
    assert_int_equal(s.n_errors, 0);
    release_result(&r);
    release_result(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_corpus_leniencies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
