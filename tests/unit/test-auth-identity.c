/*
 * test-auth-identity.c - identities, the tokens file, bearer
 * authentication and the groups file (auth/auth.h).
 *
 * The SHA-256 in the tokens file was computed with `printf s3cret |
 * sha256sum`, not with the code under test.
 */
#include "base/compat.h"
#include "auth/auth.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

static void test_identity_check(void **state)
{
    static const struct {
        int line;
        const char *in;
        int ret;
    } cases[] = {
        {__LINE__, "user:alice@example.com", 0},
        {__LINE__, "anonymous:anonymous", 0},
        {__LINE__, "project:chromium", 0},
        {__LINE__, "service:luci-config", 0},
        {__LINE__, "bot:whitelisted-ip", 0},
        {__LINE__, "user:alice", -EINVAL},          /* users are emails */
        {__LINE__, "anonymous:someone", -EINVAL},
        {__LINE__, "group:admins", -EINVAL},        /* a principal, not an identity */
        {__LINE__, "robot:x", -EINVAL},
        {__LINE__, "user:", -EINVAL},
        {__LINE__, "alice@example.com", -EINVAL},
        {__LINE__, "user:a b@example.com", -EINVAL},
        {__LINE__, "user:a\n@example.com", -EINVAL},
        {__LINE__, "", -EINVAL},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int r = auth_identity_check(cases[i].in);
        if (r != cases[i].ret)
            fail_msg("line %d: %s -> %d", cases[i].line, cases[i].in, r);
    }
    assert_int_equal(auth_identity_check(NULL), -EINVAL);
}

static void test_principal_normalize(void **state)
{
    static const struct {
        int line;
        const char *in;
        int ret;
        const char *out;
    } cases[] = {
        {__LINE__, "group:all", 0, "group:all"},
        {__LINE__, "user:a@b.c", 0, "user:a@b.c"},
        {__LINE__, "a@b.c", 0, "user:a@b.c"},
        {__LINE__, "anonymous:anonymous", 0, "anonymous:anonymous"},
        {__LINE__, "group:", -EINVAL, NULL},
        {__LINE__, "group:a b", -EINVAL, NULL},
        {__LINE__, "alice", -EINVAL, NULL},
        {__LINE__, "nope:x", -EINVAL, NULL},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char out[64] = "untouched";
        int r = auth_principal_normalize(cases[i].in, out, sizeof(out));
        if (r != cases[i].ret || (r == 0 && strcmp(out, cases[i].out) != 0))
            fail_msg("line %d: %s -> %d %s", cases[i].line, cases[i].in, r, out);
    }
    {
        char small[8];
        assert_int_equal(auth_principal_normalize("a@example.com", small, sizeof(small)),
                         -E2BIG);
    }
    assert_string_equal(auth_perm_name(AUTH_PERM_GET), "scheduler.jobs.get");
    assert_string_equal(auth_perm_name(AUTH_PERM_ABORT), "scheduler.jobs.abort");
    assert_int_equal(auth_perm_from_name("scheduler.jobs.trigger"), AUTH_PERM_TRIGGER);
    assert_int_equal(auth_perm_from_name("scheduler.jobs.delete"), -EINVAL);
}

static const char tokens_file[] =
    "# tokens for tests\n"
    "\n"
    "tok-alice user:alice@example.com\n"
    "  sha256:1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0   "
    "user:bob@example.com  \n"
    "tok-proj\tproject:chromium\n"
    "SHA256-looks-plain anonymous:anonymous\n";

static void test_tokens(void **state)
{
    struct auth *a = auth_new();
    char err[256] = "";
    static const struct {
        int line;
        const char *header;
        int ret;
        const char *identity;
    } cases[] = {
        {__LINE__, NULL, 0, "anonymous:anonymous"},
        {__LINE__, "", 0, "anonymous:anonymous"},
        {__LINE__, "Bearer tok-alice", 0, "user:alice@example.com"},
        {__LINE__, "bearer tok-alice", 0, "user:alice@example.com"},
        {__LINE__, "BEARER   tok-alice", 0, "user:alice@example.com"},
        {__LINE__, "Bearer s3cret", 0, "user:bob@example.com"},
        {__LINE__, "Bearer tok-proj", 0, "project:chromium"},
        /* The stored hash is not itself a token. */
        {__LINE__,
         "Bearer sha256:1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0",
         -EACCES, NULL},
        {__LINE__, "Bearer tok-alic", -EACCES, NULL},
        {__LINE__, "Bearer tok-alice2", -EACCES, NULL},
        {__LINE__, "Bearer nope", -EACCES, NULL},
        {__LINE__, "Basic dXNlcjpwYXNz", -EINVAL, NULL},
        {__LINE__, "Bearer ", -EINVAL, NULL},
        {__LINE__, "Bearer", -EINVAL, NULL},
        {__LINE__, "Bearer a b", -EINVAL, NULL},
        {__LINE__, "tok-alice", -EINVAL, NULL},
        /* Control bytes never belong to a credential (issue 12). */
        {__LINE__, "Bearer tok-alice\x01junk", -EINVAL, NULL},
        {__LINE__, "Bearer tok-alice\r", -EINVAL, NULL},
        {__LINE__, "Bearer tok-alice\x7f", -EINVAL, NULL},
    };

    (void)state;
    assert_non_null(a);
    /* Before any file: every token is unknown. */
    {
        char id[64];
        assert_int_equal(auth_authenticate(a, "Bearer tok-alice", id, sizeof(id)), -EACCES);
    }
    assert_int_equal(auth_load_tokens(a, tokens_file, strlen(tokens_file), err, sizeof(err)), 0);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char id[64] = "untouched";
        int r = auth_authenticate(a, cases[i].header, id, sizeof(id));
        if (r != cases[i].ret || (r == 0 && strcmp(id, cases[i].identity) != 0) ||
            (r < 0 && strcmp(id, "untouched") != 0))
            fail_msg("line %d: %s -> %d %s", cases[i].line, cases[i].header, r, id);
    }
    {
        char small[8];
        assert_int_equal(auth_authenticate(a, "Bearer tok-alice", small, sizeof(small)),
                         -E2BIG);
    }
    auth_free(a);
}

static void test_bad_tokens_files(void **state)
{
    static const struct {
        int line;
        const char *text;
        int ret;
        const char *err;
    } cases[] = {
        {__LINE__, "tok\n", -EINVAL, "line 1: want"},
        {__LINE__, "# c\ntok bogus:x\n", -EINVAL, "line 2: bad identity"},
        {__LINE__, "tok user:noemail\n", -EINVAL, "line 1: bad identity"},
        {__LINE__, "sha256:abcd user:a@b.c\n", -EINVAL, "line 1: sha256: wants 64"},
        {__LINE__,
         "sha256:zz1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0 user:a@b.c\n",
         -EINVAL, "line 1: sha256: wants 64"},
        {__LINE__, "a user:a@b.c extra\n", -EINVAL, "line 1: bad identity"},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct auth *a = auth_new();
        char err[256] = "";
        char id[64];
        static const char good[] = "good user:g@b.c\n";
        assert_int_equal(auth_load_tokens(a, good, strlen(good), err, sizeof(err)), 0);
        int r = auth_load_tokens(a, cases[i].text, strlen(cases[i].text), err, sizeof(err));
        if (r != cases[i].ret || !strstr(err, cases[i].err))
            fail_msg("line %d: %d [%s]", cases[i].line, r, err);
        /* The old table stays. */
        if (auth_authenticate(a, "Bearer good", id, sizeof(id)) != 0 ||
            strcmp(id, "user:g@b.c") != 0)
            fail_msg("line %d: old table lost", cases[i].line);
        auth_free(a);
    }
    /* A NUL byte inside the file is refused. */
    {
        struct auth *a = auth_new();
        char err[128] = "";
        assert_int_equal(auth_load_tokens(a, "a\0b user:a@b.c\n", 15, err, sizeof(err)),
                         -EINVAL);
        auth_free(a);
    }
}

static void test_groups(void **state)
{
    struct auth *a = auth_new();
    char err[256] = "";
    struct buf b;
    static const char groups_file[] =
        "# groups\n"
        "administrators: user:root@example.com\n"
        "devs: alice@example.com, user:bob@example.com,\n"
        "devs: group:interns\n"                 /* a second line adds up */
        "interns: carol@example.com\n"
        "a: group:b, user:x@example.com\n"      /* a <-> b cycle */
        "b: group:a\n"
        "self: group:self\n"                    /* a group in itself */
        "everyone: anonymous:anonymous, user:*@example.com\n"
        "empty:\n"
        "dangling: group:nowhere\n";
    static const struct {
        int line;
        const char *identity;
        const char *group;
        bool member;
    } cases[] = {
        {__LINE__, "user:alice@example.com", "devs", true},
        {__LINE__, "user:bob@example.com", "devs", true},
        {__LINE__, "user:carol@example.com", "devs", true}, /* nested */
        {__LINE__, "user:carol@example.com", "interns", true},
        {__LINE__, "user:alice@example.com", "interns", false},
        {__LINE__, "user:dave@example.com", "devs", false},
        {__LINE__, "user:x@example.com", "a", true},
        {__LINE__, "user:x@example.com", "b", true}, /* through the cycle */
        {__LINE__, "user:y@example.com", "b", false}, /* and the walk ends */
        {__LINE__, "user:y@example.com", "self", false},
        {__LINE__, "user:zed@example.com", "everyone", true}, /* glob */
        {__LINE__, "user:zed@example.org", "everyone", false},
        {__LINE__, "anonymous:anonymous", "everyone", true},
        {__LINE__, "user:a@example.com", "empty", false},
        {__LINE__, "user:a@example.com", "dangling", false},
        {__LINE__, "user:a@example.com", "unknown", false},
        {__LINE__, "user:root@example.com", "administrators", true},
    };

    (void)state;
    assert_int_equal(auth_load_groups(a, groups_file, strlen(groups_file), err, sizeof(err)), 0);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        if (auth_is_member(a, cases[i].identity, cases[i].group) != cases[i].member)
            fail_msg("line %d: %s in %s", cases[i].line, cases[i].identity, cases[i].group);
    }
    assert_true(auth_is_admin(a, "user:root@example.com"));
    assert_false(auth_is_admin(a, "user:alice@example.com"));

    /*
     * A chain g0 -> g1 -> ... -> g40 -> user:deep: the walk follows at most
     * LIMIT_AUTH_GROUP_DEPTH (32) groups, so from g9 (32 groups to the user)
     * it is found and from g8 (33 groups) it is not.
     */
    buf_init(&b, 1u << 16);
    for (int i = 0; i < 40; i++)
        buf_printf(&b, "g%d: group:g%d\n", i, i + 1);
    buf_printf(&b, "g40: user:deep@example.com\n");
    assert_int_equal(auth_load_groups(a, b.data, b.len, err, sizeof(err)), 0);
    assert_true(auth_is_member(a, "user:deep@example.com", "g40"));
    assert_true(auth_is_member(a, "user:deep@example.com", "g9"));
    assert_false(auth_is_member(a, "user:deep@example.com", "g8"));
    assert_false(auth_is_member(a, "user:deep@example.com", "g0"));
    /* The reload replaced the old groups. */
    assert_false(auth_is_member(a, "user:alice@example.com", "devs"));
    buf_release(&b);
    auth_free(a);
}

static void test_bad_groups_files(void **state)
{
    static const struct {
        int line;
        const char *text;
        const char *err;
    } cases[] = {
        {__LINE__, "no colon here\n", "line 1: want"},
        {__LINE__, ": user:a@b.c\n", "line 1: bad group name"},
        {__LINE__, "a b: user:a@b.c\n", "line 1: bad group name"},
        {__LINE__, "ok: user:a@b.c\nbad: alice\n", "line 2: bad member \"alice\""},
        {__LINE__, "bad: user:a b@c.d\n", "line 1: bad member"},
        {__LINE__, "bad: group:\n", "line 1: bad member"},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct auth *a = auth_new();
        char err[256] = "";
        static const char good[] = "administrators: r@example.com\n";
        assert_int_equal(auth_load_groups(a, good, strlen(good), err, sizeof(err)), 0);
        int r = auth_load_groups(a, cases[i].text, strlen(cases[i].text), err, sizeof(err));
        if (r != -EINVAL || !strstr(err, cases[i].err))
            fail_msg("line %d: %d [%s]", cases[i].line, r, err);
        if (!auth_is_admin(a, "user:r@example.com"))
            fail_msg("line %d: old groups lost", cases[i].line);
        auth_free(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_check),
        cmocka_unit_test(test_principal_normalize),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_bad_tokens_files),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_bad_groups_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
