/*
 * test-auth-realms.c - per-project policies and auth_check: realms.cfg
 * (with @root, fallbacks, conditions, extends, custom roles), the acl_sets
 * fallback of pre-realms configs, and administrators.
 *
 * test_queries reproduces the facts of LUCI's TestQueries (spec section 6)
 * with realms written for this test: the facts are the expectations, the
 * realms are our reconstruction of a setup that yields them.
 */
#include "base/compat.h"
#include "auth/auth.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#define ANON "anonymous:anonymous"
#define ONE "user:one@example.com"
#define SOME "user:some@example.com"
#define ADMIN "user:admin@example.com"
#define OTHER "user:other@example.com"

static const char groups_file[] =
    "all: anonymous:anonymous, user:*@example.com\n"
    "some-group: some@example.com\n"
    "administrators: group:admins\n"
    "admins: admin@example.com\n";

static const char realms_abc[] =
    "realms { name: \"@root\" }\n"
    "realms {\n"
    "  name: \"public\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"group:all\" }\n"
    "}\n"
    "realms {\n"
    "  name: \"one\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"user:one@example.com\" }\n"
    "}\n"
    "realms {\n"
    "  name: \"some\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"group:some-group\" }\n"
    "}\n";

static const char realms_def[] =
    "realms {\n"
    "  name: \"public\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"group:all\" }\n"
    "}\n";

static const char realms_secret[] =
    "# LUCI's conditional binding: valid only for the job named \"restricted\".\n"
    "realms {\n"
    "  name: \"@root\"\n"
    "  bindings {\n"
    "    role: \"role/scheduler.reader\"\n"
    "    principals: \"group:some-group\"\n"
    "    conditions {\n"
    "      restrict { attribute: \"scheduler.job.name\" values: \"restricted\" }\n"
    "    }\n"
    "  }\n"
    "}\n";

static struct auth *make_auth(void)
{
    struct auth *a = auth_new();
    char err[256] = "";

    assert_non_null(a);
    assert_int_equal(auth_load_groups(a, groups_file, strlen(groups_file), err, sizeof(err)),
                     0);
    assert_int_equal(
        auth_set_project(a, "abc", NULL, realms_abc, strlen(realms_abc), err, sizeof(err)), 0);
    assert_int_equal(
        auth_set_project(a, "def", NULL, realms_def, strlen(realms_def), err, sizeof(err)), 0);
    assert_int_equal(auth_set_project(a, "secret", NULL, realms_secret, strlen(realms_secret),
                                      err, sizeof(err)),
                     0);
    return a;
}

struct job {
    const char *project, *realm_id, *name;
};

static const struct job jobs[] = {
    {"abc", "abc:one", "1"},
    {"abc", "abc:some", "2"},
    {"abc", "abc:public", "3"},
    {"def", "def:public", "1"},
    {"secret", "secret:@legacy", "restricted"},
    {"secret", "", "admin-only"}, /* "" means @legacy too */
};

static void test_queries(void **state)
{
    struct auth *a = make_auth();
    /* Which of jobs[] each identity sees (scheduler.jobs.get). */
    static const struct {
        int line;
        const char *identity;
        bool sees[ARRAY_SIZE(jobs)];
    } cases[] = {
        {__LINE__, ANON, {false, false, true, true, false, false}},
        {__LINE__, ONE, {true, false, true, true, false, false}},
        {__LINE__, SOME, {false, true, true, true, true, false}},
        {__LINE__, ADMIN, {true, true, true, true, true, true}},
        {__LINE__, "user:x@example.org", {false, false, false, false, false, false}},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        for (size_t j = 0; j < ARRAY_SIZE(jobs); j++) {
            bool got = auth_check(a, cases[i].identity, jobs[j].project, jobs[j].realm_id,
                                  jobs[j].name, AUTH_PERM_GET);
            if (got != cases[i].sees[j])
                fail_msg("line %d: %s on %s/%s: %d", cases[i].line, cases[i].identity,
                         jobs[j].project, jobs[j].name, got);
        }
    }
    /* A reader may not act. */
    assert_false(auth_check(a, SOME, "abc", "abc:some", "2", AUTH_PERM_TRIGGER));
    assert_false(auth_check(a, SOME, "secret", "", "restricted", AUTH_PERM_ABORT));
    /* Administrators may do anything, also in unknown projects. */
    for (int p = 0; p < _AUTH_PERM_MAX; p++)
        assert_true(auth_check(a, ADMIN, "nope", "nope:x", "j", (enum auth_perm)p));
    /* Others get nothing from unknown projects. */
    assert_false(auth_check(a, ONE, "nope", "nope:x", "j", AUTH_PERM_GET));
    auth_free(a);
}

static const char realms_roles[] =
    "realms {\n"
    "  name: \"@root\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"user:root-reader@example.com\" }\n"
    "}\n"
    "realms {\n"
    "  name: \"ci\"\n"
    "  bindings { role: \"role/scheduler.triggerer\" principals: \"trig@example.com\" }\n"
    "  bindings { role: \"role/scheduler.owner\" principals: \"user:owner@example.com\" }\n"
    "  bindings { role: \"role/buildbucket.reader\" principals: \"user:bb@example.com\" }\n"
    "  bindings { role: \"customRole/pauser\" principals: \"user:pauser@example.com\" }\n"
    "  bindings {\n"
    "    role: \"role/scheduler.owner\"\n"
    "    principals: \"user:cond@example.com\"\n"
    "    conditions { restrict { attribute: \"scheduler.job.name\" values: \"a\" values: \"b\" } }\n"
    "    conditions { restrict { attribute: \"scheduler.job.name\" values: \"b\" } }\n"
    "  }\n"
    "  bindings {\n"
    "    role: \"role/scheduler.owner\"\n"
    "    principals: \"user:odd@example.com\"\n"
    "    conditions { restrict { attribute: \"other.attr\" values: \"a\" } }\n"
    "  }\n"
    "}\n"
    "realm {\n"
    "  name: \"child\"\n"
    "  extends: \"ci\"\n"
    "}\n"
    "realms { name: \"loop1\" extends: \"loop2\" }\n"
    "realms { name: \"loop2\" extends: \"loop1\" }\n"
    "custom_roles {\n"
    "  name: \"customRole/pauser\"\n"
    "  extends: \"customRole/base\"\n"
    "  permissions: \"scheduler.jobs.pause\"\n"
    "  permissions: \"buildbucket.builds.get\"\n"
    "}\n"
    "custom_roles { name: \"customRole/base\" permissions: \"scheduler.jobs.get\" }\n";

static void test_roles_and_realms(void **state)
{
    struct auth *a = auth_new();
    char err[256] = "";
    /* g t p r a = get trigger pause resume abort */
    static const struct {
        int line;
        const char *identity;
        const char *realm_id;
        const char *job;
        const char *perms;
    } cases[] = {
        {__LINE__, "user:trig@example.com", "p:ci", "j", "gt---"},
        {__LINE__, "user:owner@example.com", "p:ci", "j", "gtpra"},
        {__LINE__, "user:bb@example.com", "p:ci", "j", "-----"},
        {__LINE__, "user:pauser@example.com", "p:ci", "j", "g-p--"},
        /* Every condition must hold: only job b. */
        {__LINE__, "user:cond@example.com", "p:ci", "a", "-----"},
        {__LINE__, "user:cond@example.com", "p:ci", "b", "gtpra"},
        {__LINE__, "user:cond@example.com", "p:ci", "c", "-----"},
        /* An attribute tock does not supply never holds. */
        {__LINE__, "user:odd@example.com", "p:ci", "a", "-----"},
        /* @root bindings apply in every realm, and to missing realms. */
        {__LINE__, "user:root-reader@example.com", "p:ci", "j", "g----"},
        {__LINE__, "user:root-reader@example.com", "p:nowhere", "j", "g----"},
        {__LINE__, "user:root-reader@example.com", "", "j", "g----"},
        /* A missing realm falls back to @root only, not to other realms. */
        {__LINE__, "user:owner@example.com", "p:nowhere", "j", "-----"},
        /* extends brings the extended realm's bindings. */
        {__LINE__, "user:owner@example.com", "p:child", "j", "gtpra"},
        /* An extends cycle ends. */
        {__LINE__, "user:owner@example.com", "p:loop1", "j", "-----"},
        {__LINE__, "user:root-reader@example.com", "p:loop1", "j", "g----"},
    };
    static const enum auth_perm order[] = {AUTH_PERM_GET, AUTH_PERM_TRIGGER, AUTH_PERM_PAUSE,
                                           AUTH_PERM_RESUME, AUTH_PERM_ABORT};

    (void)state;
    int r = auth_set_project(a, "p", NULL, realms_roles, strlen(realms_roles), err, sizeof(err));
    if (r != 0)
        fail_msg("set_project: %d %s", r, err);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char got[6] = "-----";
        for (size_t k = 0; k < ARRAY_SIZE(order); k++) {
            if (auth_check(a, cases[i].identity, "p", cases[i].realm_id, cases[i].job, order[k]))
                got[k] = "gtpra"[k];
        }
        if (strcmp(got, cases[i].perms) != 0)
            fail_msg("line %d: %s in %s job %s: %s", cases[i].line, cases[i].identity,
                     cases[i].realm_id, cases[i].job, got);
    }
    auth_free(a);
}

static void test_bad_realms(void **state)
{
    static const struct {
        int line;
        const char *text;
        const char *err;
    } cases[] = {
        {__LINE__, "realms { name: \"x\" bogus: 1 }\n", "realms.cfg:1:"},
        {__LINE__, "realms { name: \"x\"\n", "realms.cfg:"},
        {__LINE__, "realms { }\n", "realm #1 has no name"},
        {__LINE__, "realms { name: \"x\" }\nrealms { name: \"x\" }\n", "defined twice"},
        {__LINE__,
         "realms { name: \"x\" bindings { role: \"role/scheduler.reader\" principals: \"bob\" } "
         "}\n",
         "bad principal \"bob\""},
        {__LINE__, "acl_sets { name: \"x\" }\n", "realms.cfg:1:"},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct auth *a = auth_new();
        char err[256] = "";
        assert_int_equal(auth_set_project(a, "p", NULL, realms_def, strlen(realms_def), err,
                                          sizeof(err)),
                         0);
        assert_int_equal(auth_load_groups(a, groups_file, strlen(groups_file), err,
                                          sizeof(err)),
                         0);
        int r = auth_set_project(a, "p", NULL, cases[i].text, strlen(cases[i].text), err,
                                 sizeof(err));
        if (r != -EINVAL || !strstr(err, cases[i].err))
            fail_msg("line %d: %d [%s]", cases[i].line, r, err);
        /* The old policy stays. */
        if (!auth_check(a, ONE, "p", "p:public", "j", AUTH_PERM_GET))
            fail_msg("line %d: old policy lost", cases[i].line);
        auth_free(a);
    }
}

static const char acl_cfg[] =
    "acl_sets {\n"
    "  name: \"default\"\n"
    "  acls { role: READER granted_to: \"group:all\" }\n"
    "  acls { role: OWNER granted_to: \"owner@example.com\" }\n"
    "}\n"
    "acl_sets {\n"
    "  name: \"triggerers\"\n"
    "  acls { role: TRIGGERER granted_to: \"user:trig@example.com\" }\n"
    "}\n"
    "job {\n"
    "  id: \"with-sets\"\n"
    "  acl_sets: \"default\"\n"
    "  acl_sets: \"triggerers\"\n"
    "  acl_sets: \"no-such-set\"\n"
    "  noop {}\n"
    "}\n"
    "job {\n"
    "  id: \"direct\"\n"
    "  acls { role: TRIGGERER granted_to: \"group:some-group\" }\n"
    "  noop {}\n"
    "}\n"
    "job {\n"
    "  id: \"no-acls\"\n"
    "  noop {}\n"
    "}\n"
    "trigger {\n"
    "  id: \"poller\"\n"
    "  acl_sets: \"default\"\n"
    "  noop {}\n"
    "}\n";

static void test_acl_sets_fallback(void **state)
{
    struct auth *a = auth_new();
    struct cfg_project *cfg = NULL;
    struct cfg_diags d;
    char err[256] = "";
    static const struct {
        int line;
        const char *identity;
        const char *job;
        const char *perms;
    } cases[] = {
        {__LINE__, ANON, "with-sets", "g----"},
        {__LINE__, ONE, "with-sets", "g----"},
        {__LINE__, "user:owner@example.com", "with-sets", "gtpra"},
        {__LINE__, "user:trig@example.com", "with-sets", "gt---"},
        {__LINE__, SOME, "direct", "gt---"},
        {__LINE__, ONE, "direct", "-----"},
        {__LINE__, ANON, "no-acls", "-----"},
        {__LINE__, "user:owner@example.com", "no-acls", "-----"},
        {__LINE__, ADMIN, "no-acls", "gtpra"},
        {__LINE__, ANON, "poller", "g----"},
        {__LINE__, ANON, "missing-job", "-----"},
    };
    static const enum auth_perm order[] = {AUTH_PERM_GET, AUTH_PERM_TRIGGER, AUTH_PERM_PAUSE,
                                           AUTH_PERM_RESUME, AUTH_PERM_ABORT};

    (void)state;
    cfg_diags_init(&d);
    assert_int_equal(cfg_project_parse(acl_cfg, strlen(acl_cfg), &cfg, &d), 0);
    assert_int_equal(auth_load_groups(a, groups_file, strlen(groups_file), err, sizeof(err)),
                     0);
    assert_int_equal(auth_set_project(a, "old", cfg, NULL, 0, err, sizeof(err)), 0);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char got[6] = "-----";
        for (size_t k = 0; k < ARRAY_SIZE(order); k++) {
            /* The realm id does not matter without realms.cfg. */
            if (auth_check(a, cases[i].identity, "old", "old:@legacy", cases[i].job, order[k]))
                got[k] = "gtpra"[k];
        }
        if (strcmp(got, cases[i].perms) != 0)
            fail_msg("line %d: %s on %s: %s", cases[i].line, cases[i].identity, cases[i].job,
                     got);
    }
    /* realms.cfg wins over ACLs when both exist. */
    assert_int_equal(
        auth_set_project(a, "old", cfg, realms_def, strlen(realms_def), err, sizeof(err)), 0);
    assert_false(auth_check(a, "user:owner@example.com", "old", "", "with-sets",
                            AUTH_PERM_ABORT));
    assert_true(auth_check(a, ONE, "old", "old:public", "with-sets", AUTH_PERM_GET));
    /* A project with neither: administrators only. */
    assert_int_equal(auth_set_project(a, "bare", NULL, NULL, 0, err, sizeof(err)), 0);
    assert_false(auth_check(a, ANON, "bare", "", "j", AUTH_PERM_GET));
    assert_true(auth_check(a, ADMIN, "bare", "", "j", AUTH_PERM_GET));
    /* Removing a project hides its jobs. */
    auth_remove_project(a, "old");
    assert_false(auth_check(a, ONE, "old", "old:public", "with-sets", AUTH_PERM_GET));
    cfg_project_free(cfg);
    cfg_diags_release(&d);
    auth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queries),
        cmocka_unit_test(test_roles_and_realms),
        cmocka_unit_test(test_bad_realms),
        cmocka_unit_test(test_acl_sets_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
