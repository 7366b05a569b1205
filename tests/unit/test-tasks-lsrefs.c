/*
 * test-tasks-lsrefs.c - the git poller's protocol v2 pieces (gp-lsrefs.h)
 * on the bytes of wire-formats.md section 5 (verified there against git
 * 2.39.5's http-backend) and on hostile variants of them.  The calls
 * themselves run against a real git http-backend in test-tasks-git.c.
 */
#include "base/compat.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "tasks/git/gp-lsrefs.h"

/* wire-formats.md 5.2, the verified advertisement. */
static const char caps_v2[] = "000eversion 2\n"
                              "0015agent=git/2.39.5\n"
                              "0013ls-refs=unborn\n"
                              "0020fetch=shallow wait-for-done\n"
                              "0012server-option\n"
                              "0017object-format=sha1\n"
                              "0010object-info\n"
                              "0000";

/* wire-formats.md 5.3, the verified ls-refs answer. */
static const char answer[] =
    "0050b1c160f61fe0a5f7883364703b4fc811dfdff91e HEAD symref-target:refs/heads/main\n"
    "003db1c160f61fe0a5f7883364703b4fc811dfdff91e refs/heads/main\n"
    "006c275cb10b0fc1f9206b5fdfa7fcc0682af8d8e726 refs/tags/v1.0 "
    "peeled:b1c160f61fe0a5f7883364703b4fc811dfdff91e\n"
    "0000";

static int caps_of(const char *body, size_t len, struct gp_v2_caps *c)
{
    char err[200] = "";

    return gp_v2_caps_parse(body, len, c, err, sizeof(err));
}

static void test_caps(void **state)
{
    struct gp_v2_caps c;
    char buf[512];

    (void)state;
    assert_int_equal(caps_of(caps_v2, strlen(caps_v2), &c), 0);
    assert_true(c.v2 && c.ls_refs && c.object_format);

    /* Some servers put the v0 service section first (wire-formats 5.2). */
    snprintf(buf, sizeof(buf), "001e# service=git-upload-pack\n0000%s", caps_v2);
    assert_int_equal(caps_of(buf, strlen(buf), &c), 0);
    assert_true(c.v2 && c.ls_refs);

    /* A v0 answer: not v2, no error (libgit2 lists the refs). */
    snprintf(buf, sizeof(buf), "001e# service=git-upload-pack\n0000"
             "003db1c160f61fe0a5f7883364703b4fc811dfdff91e refs/heads/main\n0000");
    assert_int_equal(caps_of(buf, strlen(buf), &c), 0);
    assert_false(c.v2);

    /* v2 without ls-refs: not usable. */
    snprintf(buf, sizeof(buf), "000eversion 2\n0015agent=git/2.39.5\n0000");
    assert_int_equal(caps_of(buf, strlen(buf), &c), 0);
    assert_true(c.v2);
    assert_false(c.ls_refs);
}

static void test_caps_hostile(void **state)
{
    static const char *const bad[] = {
        "zzzzversion 2\n",              /* not hex */
        "000",                          /* cut in the length */
        "0003",                         /* length 3 */
        "00ffversion 2\n",              /* longer than the answer */
        "000eversion 2\n0013ls-refs",   /* cut in a packet */
        "000eversion 2\n0013ls-refs=unborn\n", /* no flush */
        "000eversion 2\n0001",          /* a delimiter where the flush goes */
        "0010ERR go away\n",            /* the server's error */
        "001e# service=git-upload-pack\n000eversion 2\n", /* no flush after service */
    };
    struct gp_v2_caps c;
    char err[200];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (gp_v2_caps_parse(bad[i], strlen(bad[i]), &c, err, sizeof(err)) != -EPROTO)
            fail_msg("case %zu (%s) was not refused", i, bad[i]);
        assert_true(err[0] != '\0');
    }
    err[0] = '\0';
    gp_v2_caps_parse(bad[7], strlen(bad[7]), &c, err, sizeof(err));
    assert_non_null(strstr(err, "go away"));
    /* Nothing at all: not v2 (an empty answer is v0's business). */
    assert_int_equal(gp_v2_caps_parse("", 0, &c, err, sizeof(err)), 0);
    assert_false(c.v2);
}

/* The request body: the packets of wire-formats 5.3 that tock sends. */
static void test_body(void **state)
{
    struct gp_v2_caps c = {.v2 = true, .ls_refs = true, .object_format = true};
    struct buf b;

    (void)state;
    buf_init(&b, 4096);
    assert_int_equal(gp_v2_lsrefs_body(&c, "refs/heads", &b), 0);
    assert_string_equal(b.data, "0014command=ls-refs\n"
                                "0017object-format=sha1\n"
                                "0001"
                                "000csymrefs\n"
                                "001bref-prefix refs/heads/\n"
                                "0000");
    buf_reset(&b);
    c.object_format = false; /* not advertised: not sent */
    assert_int_equal(gp_v2_lsrefs_body(&c, "refs/tags", &b), 0);
    assert_null(strstr(b.data, "object-format"));
    assert_non_null(strstr(b.data, "001aref-prefix refs/tags/\n"));
    buf_release(&b);
}

static void test_parse(void **state)
{
    struct gt_refs heads = {0}, tags = {0};
    char err[200];

    (void)state;
    assert_int_equal(gp_v2_lsrefs_parse(answer, strlen(answer), "refs/heads", &heads, err,
                                        sizeof(err)), 0);
    assert_int_equal(heads.n, 1); /* HEAD (a symref) and the tag left out */
    assert_string_equal(heads.v[0].name, "refs/heads/main");
    assert_string_equal(heads.v[0].sha, "b1c160f61fe0a5f7883364703b4fc811dfdff91e");
    assert_int_equal(gp_v2_lsrefs_parse(answer, strlen(answer), "refs/tags", &tags, err,
                                        sizeof(err)), 0);
    assert_int_equal(tags.n, 1);
    /* The tag object, not the peeled commit (as libgit2's listing and Gitiles). */
    assert_string_equal(tags.v[0].sha, "275cb10b0fc1f9206b5fdfa7fcc0682af8d8e726");
    gt_refs_release(&heads);
    gt_refs_release(&tags);
}

static void test_parse_hostile(void **state)
{
    static const char *const bad[] = {
        "003db1c160f61fe0a5f7883364703b4fc811dfdff91e refs/heads/main\n", /* no flush */
        "003dB1C160F61FE0A5F7883364703B4FC811DFDFF91Z refs/heads/main\n0000", /* bad SHA */
        "002db1c160f61fe0a5f7883364703b4fc811dfdff91e\n0000", /* no name */
        "003db1c160f61fe0a5f7883364703b4fc811dfdff91erefs/heads/mainn\n0000", /* no space */
        "0015ERR no such repo\n",
        "ffffb1c1",
    };
    struct gt_refs out = {0};
    char err[200];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (gp_v2_lsrefs_parse(bad[i], strlen(bad[i]), "refs/heads", &out, err, sizeof(err)) !=
            -EPROTO)
            fail_msg("case %zu was not refused", i);
        assert_true(err[0] != '\0');
        gt_refs_release(&out);
    }
    /* "unborn" HEAD, refs outside the prefix and outside refs/ are skipped. */
    const char *ok = "0014unborn HEAD x:y\n"
                     "0039b1c160f61fe0a5f7883364703b4fc811dfdff91e refs/headsx\n"
                     "0039b1c160f61fe0a5f7883364703b4fc811dfdff91e heads/other\n"
                     "0000";
    assert_int_equal(gp_v2_lsrefs_parse(ok, strlen(ok), "refs/heads", &out, err, sizeof(err)),
                     0);
    assert_int_equal(out.n, 0);
    gt_refs_release(&out);
}

/* A ref name past GT_MAX_REF and more refs than GT_MAX_REFS. */
static void test_parse_bounds(void **state)
{
    const size_t n_refs = GT_MAX_REFS + 1;
    struct gt_refs out = {0};
    struct buf b;
    char err[200], name[GT_MAX_REF + 2];

    (void)state;
    buf_init(&b, 64u << 20);
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    memcpy(name, "refs/heads/", 11);
    assert_int_equal(buf_printf(&b, "%04zx%s %s\n0000", 4 + 40 + 1 + strlen(name) + 1,
                                "b1c160f61fe0a5f7883364703b4fc811dfdff91e", name), 0);
    assert_int_equal(gp_v2_lsrefs_parse(b.data, b.len, "refs/heads", &out, err, sizeof(err)),
                     -EPROTO);
    assert_non_null(strstr(err, "longer than"));
    gt_refs_release(&out);

    buf_reset(&b);
    for (size_t i = 0; i < n_refs; i++)
        assert_int_equal(buf_printf(&b, "%04x%s refs/heads/b%07zu\n", 4 + 40 + 1 + 19 + 1,
                                    "b1c160f61fe0a5f7883364703b4fc811dfdff91e", i), 0);
    assert_int_equal(buf_puts(&b, "0000"), 0);
    assert_int_equal(gp_v2_lsrefs_parse(b.data, b.len, "refs/heads", &out, err, sizeof(err)),
                     -E2BIG);
    assert_non_null(strstr(err, "more than 200000 refs"));
    gt_refs_release(&out);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caps),       cmocka_unit_test(test_caps_hostile),
        cmocka_unit_test(test_body),       cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_hostile), cmocka_unit_test(test_parse_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
