/*
 * test-auth-view.c - auth_realm_view: what a caller may see of a whole
 * realm before any job is looked at (the first step of a GetJobs page).
 *
 * Expected views follow from the realms below as realms.cfg defines them
 * (luci-scheduler-spec.md section 6): an unconditional binding covers
 * every job, one restricted to scheduler.job.name covers some, one on an
 * attribute tock does not supply covers none; @root and extends add up.
 * Every case is also checked against auth_check on a few job names: ALL
 * must mean every one passes, NONE that none does.
 */
#include "base/compat.h"
#include "auth/auth.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#define ANON "anonymous:anonymous"
#define SOMEONE "user:some@example.com"
#define OWNER "user:owner@example.com"
#define ROOTED "user:rooted@example.com"
#define TRIG "user:trig@example.com"
#define ADMIN "user:admin@example.com"
#define STRANGER "user:nobody@other.org"

static const char groups_file[] =
    "all: anonymous:anonymous, user:*@example.com\n"
    "some-group: some@example.com\n"
    "administrators: admin@example.com\n";

static const char realms_v[] =
    "realms {\n"
    "  name: \"@root\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"user:rooted@example.com\" }\n"
    "}\n"
    "realms {\n"
    "  name: \"public\"\n"
    "  bindings { role: \"role/scheduler.reader\" principals: \"group:all\" }\n"
    "}\n"
    "realms {\n"
    "  name: \"cond\"\n"
    "  bindings {\n"
    "    role: \"role/scheduler.reader\"\n"
    "    principals: \"group:some-group\"\n"
    "    conditions {\n"
    "      restrict { attribute: \"scheduler.job.name\" values: \"a\" values: \"b\" }\n"
    "    }\n"
    "  }\n"
    "}\n"
    "realms {\n"
    "  name: \"other-attr\"\n"
    "  bindings {\n"
    "    role: \"role/scheduler.reader\"\n"
    "    principals: \"group:all\"\n"
    "    conditions { restrict { attribute: \"scheduler.build.bucket\" values: \"a\" } }\n"
    "  }\n"
    "}\n"
    "realms { name: \"child\" extends: \"public\" }\n"
    "realms { name: \"cond-child\" extends: \"cond\" }\n"
    "realms {\n"
    "  name: \"owner-only\"\n"
    "  bindings { role: \"role/scheduler.owner\" principals: \"user:owner@example.com\" }\n"
    "}\n"
    "realms {\n"
    "  name: \"trig\"\n"
    "  bindings { role: \"role/scheduler.triggerer\" principals: \"user:trig@example.com\" }\n"
    "}\n";

static const char acl_cfg[] =
    "acl_sets {\n"
    "  name: \"default\"\n"
    "  acls { role: READER granted_to: \"group:all\" }\n"
    "  acls { role: OWNER granted_to: \"owner@example.com\" }\n"
    "}\n"
    "job { id: \"a\" acl_sets: \"default\" noop {} }\n"
    "job { id: \"b\" noop {} }\n";

static struct auth *make_auth(void)
{
    struct auth *a = auth_new();
    struct cfg_project *cfg = NULL;
    struct cfg_diags d;
    char err[256] = "";

    assert_non_null(a);
    assert_int_equal(auth_load_groups(a, groups_file, strlen(groups_file), err, sizeof(err)),
                     0);
    if (auth_set_project(a, "v", NULL, realms_v, strlen(realms_v), err, sizeof(err)) != 0)
        fail_msg("realms: %s", err);
    cfg_diags_init(&d);
    assert_int_equal(cfg_project_parse(acl_cfg, strlen(acl_cfg), &cfg, &d), 0);
    assert_int_equal(auth_set_project(a, "old", cfg, NULL, 0, err, sizeof(err)), 0);
    cfg_project_free(cfg);
    cfg_diags_release(&d);
    return a;
}

static const char *view_name(enum auth_view v)
{
    return v == AUTH_VIEW_ALL ? "ALL" : v == AUTH_VIEW_SOME ? "SOME" : "NONE";
}

static void test_realm_views(void **state)
{
    static const struct {
        int line;
        const char *identity, *project, *realm;
        enum auth_perm perm;
        enum auth_view want;
    } cases[] = {
        {__LINE__, ANON, "v", "v:public", AUTH_PERM_GET, AUTH_VIEW_ALL},
        {__LINE__, ANON, "v", "v:child", AUTH_PERM_GET, AUTH_VIEW_ALL},
        {__LINE__, ANON, "v", "v:cond", AUTH_PERM_GET, AUTH_VIEW_NONE},
        {__LINE__, SOMEONE, "v", "v:cond", AUTH_PERM_GET, AUTH_VIEW_SOME},
        {__LINE__, SOMEONE, "v", "v:cond-child", AUTH_PERM_GET, AUTH_VIEW_SOME},
        {__LINE__, SOMEONE, "v", "v:public", AUTH_PERM_GET, AUTH_VIEW_ALL},
        {__LINE__, ANON, "v", "v:other-attr", AUTH_PERM_GET, AUTH_VIEW_NONE},
        {__LINE__, ANON, "v", "v:owner-only", AUTH_PERM_GET, AUTH_VIEW_NONE},
        {__LINE__, OWNER, "v", "v:owner-only", AUTH_PERM_GET, AUTH_VIEW_ALL},
        {__LINE__, OWNER, "v", "v:owner-only", AUTH_PERM_ABORT, AUTH_VIEW_ALL},
        {__LINE__, ANON, "v", "v:public", AUTH_PERM_PAUSE, AUTH_VIEW_NONE},
        {__LINE__, TRIG, "v", "v:trig", AUTH_PERM_TRIGGER, AUTH_VIEW_ALL},
        {__LINE__, TRIG, "v", "v:trig", AUTH_PERM_PAUSE, AUTH_VIEW_NONE},
        /* @root covers every realm, defined or not, and the default one. */
        {__LINE__, ROOTED, "v", "v:owner-only", AUTH_PERM_GET, AUTH_VIEW_ALL},
        {__LINE__, ROOTED, "v", "v:nowhere", AUTH_PERM_GET, AUTH_VIEW_ALL},
        {__LINE__, ROOTED, "v", NULL, AUTH_PERM_GET, AUTH_VIEW_ALL},
        {__LINE__, ROOTED, "v", "v:cond", AUTH_PERM_TRIGGER, AUTH_VIEW_NONE},
        {__LINE__, ANON, "v", "v:nowhere", AUTH_PERM_GET, AUTH_VIEW_NONE},
        {__LINE__, ANON, "v", "", AUTH_PERM_GET, AUTH_VIEW_NONE},
        /* Administrators see everything; unknown projects nobody else. */
        {__LINE__, ADMIN, "v", "v:owner-only", AUTH_PERM_ABORT, AUTH_VIEW_ALL},
        {__LINE__, ADMIN, "unknown", "unknown:x", AUTH_PERM_GET, AUTH_VIEW_ALL},
        {__LINE__, ANON, "unknown", "unknown:x", AUTH_PERM_GET, AUTH_VIEW_NONE},
        /* The acl_sets fallback: ACLs are per job, so at best SOME. */
        {__LINE__, ANON, "old", "old:@legacy", AUTH_PERM_GET, AUTH_VIEW_SOME},
        {__LINE__, OWNER, "old", "old:@legacy", AUTH_PERM_PAUSE, AUTH_VIEW_SOME},
        {__LINE__, STRANGER, "old", "old:@legacy", AUTH_PERM_GET, AUTH_VIEW_NONE},
        {__LINE__, ANON, "old", "old:@legacy", AUTH_PERM_PAUSE, AUTH_VIEW_NONE},
    };
    static const char *const jobs[] = {"a", "b", "c", "nightly"};
    struct auth *a = make_auth();

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        enum auth_view got = auth_realm_view(a, cases[i].identity, cases[i].project,
                                             cases[i].realm, cases[i].perm);
        if (got != cases[i].want)
            fail_msg("line %d: %s, want %s", cases[i].line, view_name(got),
                     view_name(cases[i].want));
        for (size_t j = 0; j < ARRAY_SIZE(jobs); j++) {
            bool ok = auth_check(a, cases[i].identity, cases[i].project, cases[i].realm,
                                 jobs[j], cases[i].perm);
            if ((got == AUTH_VIEW_ALL && !ok) || (got == AUTH_VIEW_NONE && ok))
                fail_msg("line %d: view %s but auth_check(%s) = %d", cases[i].line,
                         view_name(got), jobs[j], ok);
        }
    }
    auth_free(a);
}

/* A project whose policy goes away is NONE again (the check's rule). */
static void test_removed_project(void **state)
{
    struct auth *a = make_auth();

    (void)state;
    assert_int_equal(auth_realm_view(a, ANON, "v", "v:public", AUTH_PERM_GET), AUTH_VIEW_ALL);
    auth_remove_project(a, "v");
    assert_int_equal(auth_realm_view(a, ANON, "v", "v:public", AUTH_PERM_GET), AUTH_VIEW_NONE);
    assert_int_equal(auth_realm_view(a, NULL, "v", "v:public", AUTH_PERM_GET), AUTH_VIEW_NONE);
    auth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_realm_views),
        cmocka_unit_test(test_removed_project),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
