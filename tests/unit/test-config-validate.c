/*
 * Unit tests for config validation: every LUCI rule and message, at the
 * default (tock) level and with strict_luci.  Each row is a config and the
 * exact diagnostics, formatted as the CLI prints them (file "f").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/buf.h"
#include "config/config.h"
#include "config/re2.h"

struct validate_case {
    int line;
    bool strict;
    const char *cfg;
    const char *want; /* every diagnostic, one per line */
};

/* One-block cases: ids, realms, schedules, tasks, policies, both levels. */
static const struct validate_case cases[] = {
    { __LINE__, false,
      "job { id: \"a\" noop {} }",
      "" },
    { __LINE__, false,
      "trigger { id: \"a\" noop {} }",
      "" },
    { __LINE__, false,
      "job { noop {} }",
      "f:1:1: error: (job / (empty)): missing 'id' field'\n" },
    { __LINE__, false,
      "job { id: \"a=b\" noop {} }",
      "f:1:7: error: (job / a=b): \"a=b\" is not valid value for 'id' field"
      ", must match \"^[0-9A-Za-z_\\\\-\\\\. \\\\)\\\\(]{1,100}$\" regexp\n" },
    { __LINE__, false,
      "job { id: \"r\" realm: \"Bad\" noop {} }",
      "f:1:15: error: (job / r): bad 'realm' field - bad project-scoped r"
      "ealm name \"Bad\" - the realm name should match \"^[a-z0-9_\\\\.\\\\-/]{1"
      ",400}$\" or be \"@root\", \"@legacy\" or \"@project\"\n" },
    { __LINE__, false,
      "job { id: \"s\" schedule: \"with 1 min interval\" noop {} }",
      "f:1:15: error: (job / s): with 1 min interval is not valid value f"
      "or 'schedule' field - expecting format \"with <duration> interval\"\n" },
    { __LINE__, false,
      "job { id: \"h\" schedule: \"H H * * *\" noop {} }",
      "" },
    { __LINE__, false,
      "job { id: \"c\" schedule: \"61 * * * *\" noop {} }",
      "f:1:15: error: (job / c): 61 * * * * is not valid value for 'sched"
      "ule' field - syntax error in minute field: '61'\n" },
    { __LINE__, false,
      "trigger { id: \"t\" noop {} triggers: \"nope\" triggers: \"d\" }",
      "f:1:27: error: (trigger / t): referencing unknown job \"nope\" in 't"
      "riggers' field\nf:1:44: error: (trigger / t): referencing unknown j"
      "ob \"d\" in 'triggers' field\n" },
    { __LINE__, false,
      "job { id: \"d\" disabled: true noop {} }",
      "" },
    { __LINE__, false,
      "job { id: \"none\" }",
      "f:1:1: error: (job / none): can't find a recognized task definitio"
      "n inside *messages.Job\n" },
    { __LINE__, false,
      "trigger { id: \"tnone\" }",
      "f:1:1: error: (trigger / tnone): can't find a recognized task defi"
      "nition inside *messages.Trigger\n" },
    { __LINE__, false,
      "job { id: \"two\" buildbucket { server: \"s.com\" bucket: \"b\" builder:"
      " \"x\" } noop {} }",
      "f:1:74: error: (job / two): only one field with task definition mu"
      "st be set, at least two are given (*messages.NoopTask and *message"
      "s.BuildbucketTask)\n" },
    { __LINE__, false,
      "job { id: \"pol\" triggering_policy { kind: 7 max_concurrent_invocat"
      "ions: -1 max_batch_size: -2 pending_timeout { seconds: -3600 } } n"
      "oop {} }",
      "f:1:17: error: (job / pol / triggering_policy): unrecognized polic"
      "y kind 7\nf:1:17: error: (job / pol / triggering_policy): max_concu"
      "rrent_invocations should be positive, got -1\nf:1:17: error: (job /"
      " pol / triggering_policy): max_batch_size should be positive, got "
      "-2\nf:1:17: error: (job / pol / triggering_policy): pending_timeout"
      " should be positive, got -1h0m0s\nf:1:17: error: (job / pol / trigg"
      "ering_policy): pending_timeout is non-zero with non-NEWEST_FIRST p"
      "olicy, but pending_timeout doesn't apply to those policies\n" },
    { __LINE__, false,
      "job { id: \"pol2\" triggering_policy { kind: LOGARITHMIC_BATCHING lo"
      "g_base: 0.5 pending_timeout { nanos: 1 } } noop {} }",
      "f:1:18: error: (job / pol2 / triggering_policy): pending_timeout i"
      "s non-zero with non-NEWEST_FIRST policy, but pending_timeout doesn"
      "'t apply to those policies\nf:1:18: error: (job / pol2 / triggering"
      "_policy): log_base should be larger or equal 1.0001, got 0.500000\n" },
    { __LINE__, false,
      "job { id: \"pol3\" triggering_policy { kind: LOGARITHMIC_BATCHING lo"
      "g_base: nan } noop {} }",
      "" },
    { __LINE__, false,
      "job { id: \"pol4\" triggering_policy { kind: LOGARITHMIC_BATCHING lo"
      "g_base: -inf } noop {} }",
      "f:1:18: error: (job / pol4 / triggering_policy): log_base should b"
      "e larger or equal 1.0001, got -Inf\n" },
    { __LINE__, false,
      "job { id: \"bb1\" buildbucket { } }",
      "f:1:17: error: (job / bb1 / task): field 'server' is required\nf:1:"
      "17: error: (job / bb1 / task): 'bucket' field for jobs in \"@legacy"
      "\" realm is required\nf:1:17: error: (job / bb1 / task): 'builder' f"
      "ield is required\n" },
    { __LINE__, false,
      "job { id: \"bb2\" realm: \"ci\" buildbucket { server: \"https://s.com\" "
      "builder: \"x\" } }",
      "f:1:43: warning: (job / bb2 / task): field 'server' should be just"
      " a host, not a URL: \"https://s.com\" (LUCI rejects this; tock uses "
      "the host part)\n" },
    { __LINE__, false,
      "job { id: \"bb3\" realm: \"ci\" buildbucket { server: \"%%%%\" builder: "
      "\"x\" } }",
      "f:1:43: error: (job / bb3 / task): field 'server' is not a valid h"
      "ostname \"%%%%\": parse \"https://%%%%\": invalid URL escape \"%%%\"\n" },
    { __LINE__, false,
      "job { id: \"bb4\" realm: \"ci\" buildbucket { server: \"blah.com/abc\" b"
      "uilder: \"x\" } }",
      "f:1:43: error: (job / bb4 / task): field 'server' is not a valid h"
      "ostname \"blah.com/abc\"\n" },
    { __LINE__, false,
      "job { id: \"bb5\" buildbucket { server: \"s.com\" bucket: \"luci.proj.b"
      "uck\" builder: \"x\" } }",
      "f:1:47: warning: (job / bb5 / task): legacy v1 bucket names like \""
      "luci.proj.buck\" are no longer allowed, use \"buck\" instead (LUCI re"
      "jects this; tock schedules it through the Buildbucket v1 API)\n" },
    { __LINE__, false,
      "job { id: \"bb6\" buildbucket { server: \"s.com\" bucket: \"luci.other."
      "buck\" builder: \"x\" } }",
      "f:1:47: warning: (job / bb6 / task): legacy v1 bucket names like \""
      "luci.other.buck\" are no longer allowed, use \"other:buck\" instead ("
      "LUCI rejects this; tock schedules it through the Buildbucket v1 AP"
      "I)\n" },
    { __LINE__, false,
      "job { id: \"bb7\" buildbucket { server: \"s.com\" bucket: \"luci.x\" bui"
      "lder: \"x\" } }",
      "f:1:47: error: (job / bb7 / task): bad legacy v1 'bucket' \"luci.x\""
      ", need 3 components\n" },
    { __LINE__, false,
      "job { id: \"bb8\" buildbucket { server: \"s.com\" bucket: \"other:b\" pr"
      "operties: \"a:1\" properties: \"bad\" properties: \"bad2\" tags: \"t\" tag"
      "s: \"user_agent:x\" } }",
      "f:1:17: error: (job / bb8 / task): 'builder' field is required\nf:1"
      ":17: error: (job / bb8 / task): 'builder' field is required\nf:1:83"
      ": error: (job / bb8 / task / properties): bad property, not a 'key"
      ":value' pair: \"bad\"\nf:1:120: error: (job / bb8 / task / tags): bad"
      " tag, not a 'key:value' pair: \"t\"\n" },
    { __LINE__, false,
      "job { id: \"bb9\" buildbucket { server: \"s.com\" bucket: \"b\" builder:"
      " \"x\" tags: \"scheduler_job_id:1\" tags: \"user_agent:x\" tags: \"k:v\" }"
      " }",
      "f:1:72: error: (job / bb9 / task): tag \"scheduler_job_id\" is reser"
      "ved\nf:1:99: error: (job / bb9 / task): tag \"user_agent\" is reserve"
      "d\n" },
    { __LINE__, false,
      "job { id: \"bb10\" realm: \"@root\" buildbucket { server: \"s.com\" buil"
      "der: \"x\" } }",
      "f:1:33: error: (job / bb10 / task): 'bucket' field for jobs in \"@r"
      "oot\" realm is required\n" },
    /* tock's git poller: accepted by default, refused by --strict-luci. */
    { __LINE__, false,
      "trigger { id: \"g\" git { url: \"https://example.com/r.git\" refs: \"refs/heads/main\" } }",
      "" },
    { __LINE__, true,
      "trigger { id: \"g\" git { url: \"https://example.com/r.git\" refs: \"refs/heads/main\" } }",
      "f:1:19: error: (trigger / g / task): the git task is a tock extension that LUCI does "
      "not have (use gitiles, or validate without --strict-luci)\n" },
    { __LINE__, false,
      "trigger { id: \"g\" git { } }",
      "f:1:19: error: (trigger / g / task / url): field 'url' is required\n" },
    { __LINE__, false,
      "trigger { id: \"g\" git { url: \"ftp://x\" refs: \"regexp:[\" } }",
      "f:1:25: error: (trigger / g / task / url): url \"ftp://x\" must start with https://, "
      "http://, ssh://, git://, file:// or be an absolute path\n"
      "f:1:40: error: (trigger / g / task / refs / regexp:[): invalid regexp: error parsing "
      "regexp: missing closing ]: `[`\n" },
    /* Credentials in a git URL are refused, without repeating the URL. */
    { __LINE__, false,
      "trigger { id: \"g\" git { url: \"https://me:s3cret@h.example/r.git\" } }",
      "f:1:25: error: (trigger / g / task / url): url must not carry credentials "
      "(user:password@ or token@): they would show in every trigger and page; give them to "
      "tock serve with --git-credentials\n" },
    { __LINE__, false,
      "trigger { id: \"g\" git { url: \"https://ghp_t0ken@h.example/r.git\" } }",
      "f:1:25: error: (trigger / g / task / url): url must not carry credentials "
      "(user:password@ or token@): they would show in every trigger and page; give them to "
      "tock serve with --git-credentials\n" },
    { __LINE__, false,
      "trigger { id: \"g\" git { url: \"ssh://u:pw@h.example/r.git\" } }",
      "f:1:25: error: (trigger / g / task / url): url must not carry credentials "
      "(user:password@ or token@): they would show in every trigger and page; give them to "
      "tock serve with --git-credentials\n" },
    { __LINE__, false,
      "trigger { id: \"g\" git { url: \"ssh://git@h.example/r@x.git\" } }",
      "" },
    { __LINE__, false,
      "trigger { id: \"g\" git { url: \"https://h.example/a@b/r.git\" } }",
      "" },
    { __LINE__, false,
      "trigger { id: \"g1\" gitiles { } }",
      "f:1:20: error: (trigger / g1 / task / repo): field 'repository' is"
      " required\n" },
    { __LINE__, false,
      "trigger { id: \"g2\" gitiles { repo: \"/relative\" refs: \"master\" refs"
      ": \"refs/heads\" refs: \"heads/master\" refs: \"refs/tags/*\" } }",
      "f:1:30: error: (trigger / g2 / task / repo): not an absolute url: "
      "\"/relative\"\nf:1:48: warning: (trigger / g2 / task / refs): ref mus"
      "t start with 'refs/' not \"master\" (LUCI rejects this; tock reads i"
      "t as \"refs/heads/master\")\nf:1:48: warning: (trigger / g2 / task / "
      "refs): fewer than 2 slashes in ref \"master\" (LUCI rejects this; to"
      "ck reads it as \"refs/heads/master\")\nf:1:63: error: (trigger / g2 /"
      " task / refs): fewer than 2 slashes in ref \"refs/heads\"\nf:1:82: er"
      "ror: (trigger / g2 / task / refs): ref must start with 'refs/' not"
      " \"heads/master\"\nf:1:82: error: (trigger / g2 / task / refs): fewer"
      " than 2 slashes in ref \"heads/master\"\nf:1:103: warning: (trigger /"
      " g2 / task / refs): LUCI reads \"refs/tags/*\" as a literal ref name"
      ", which never matches; tock reads the glob as \"regexp:refs/tags/[^"
      "/]+\"\n" },
    { __LINE__, false,
      "trigger { id: \"g3\" gitiles { repo: \"https://h.com/%zz\" refs: \"rege"
      "xp:^refs/heads/x\" refs: \"regexp:refs/heads/(\" refs: \"regexp:refs/."
      "*\" refs: \"regexp:foo/bar/.*\" refs: \"regexp:refs/branch-heads/\\\\d+\""
      " refs: \"regexp:refs/h[e]ad(s)/m[a]ster\" refs: \"regexp:refs/branch["
      "-_]heads/\\\\d+\\\\/\\\\d+\" } }",
      "f:1:30: error: (trigger / g3 / task / repo): invalid URL \"https://"
      "h.com/%zz\": parse \"https://h.com/%zz\": invalid URL escape \"%zz\"\nf:"
      "1:56: error: (trigger / g3 / task / refs / regexp:^refs/heads/x): "
      "^ and $ qualifiers are added automatically, please remove them\nf:1"
      ":85: error: (trigger / g3 / task / refs / regexp:refs/heads/(): in"
      "valid regexp: error parsing regexp: missing closing ): `refs/heads"
      "/(`\nf:1:113: error: (trigger / g3 / task / refs / regexp:refs/.*):"
      " fewer than 2 slashes in literal prefix \"refs/\", e.g., \"refs/heads"
      "/\\d+\" is accepted because of \"refs/heads/\" is the literal prefix, "
      "while \"refs/.*\" is too short\nf:1:136: error: (trigger / g3 / task "
      "/ refs / regexp:foo/bar/.*): literal prefix \"foo/bar/\" must start "
      "with \"refs/\"\nf:1:239: error: (trigger / g3 / task / refs / regexp:"
      "refs/branch[-_]heads/\\d+\\/\\d+): fewer than 2 slashes in literal pr"
      "efix \"refs/branch\", e.g., \"refs/heads/\\d+\" is accepted because of "
      "\"refs/heads/\" is the literal prefix, while \"refs/.*\" is too short\n" },
    { __LINE__, false,
      "trigger { id: \"g4\" gitiles { repo: \"https://h.com/x\" path_regexps:"
      " \"\" path_regexps: \"^a$\" path_regexps: \"a(?=b)\" path_regexps: \"\\\\1\""
      " path_regexps_exclude: \"(\" } }",
      "f:1:54: error: (trigger / g4 / task / path_regexps \"\"): must not b"
      "e empty\nf:1:71: error: (trigger / g4 / task / path_regexps \"^a$\"):"
      " ^ and $ qualifiers are added automatically, please remove them\nf:"
      "1:91: error: (trigger / g4 / task / path_regexps \"a(?=b)\"): error "
      "parsing regexp: invalid or unsupported Perl syntax: `(?=`\nf:1:114:"
      " error: (trigger / g4 / task / path_regexps \"\\\\1\"): error parsing "
      "regexp: invalid escape sequence: `\\1`\nf:1:134: error: (trigger / g"
      "4 / task / path_regexps_exclude \"(\"): error parsing regexp: missin"
      "g closing ): `(`\n" },
    { __LINE__, false,
      "trigger { id: \"g5\" gitiles { repo: \"https://h.com/x\" path_regexps_"
      "exclude: \"x\" } }",
      "f:1:54: error: (trigger / g5 / task): Specifying path_regexps_excl"
      "ude not allowed without at least one path_regexps\n" },
    { __LINE__, false,
      "job { id: \"u1\" url_fetch { method: \"POST\" } }",
      "f:1:28: error: (job / u1 / task): unsupported HTTP method: \"POST\"\n"
      "f:1:16: error: (job / u1 / task): field 'url' is required\n" },
    { __LINE__, false,
      "job { id: \"u2\" url_fetch { url: \"https://x.com\" timeout_sec: -1 } "
      "}",
      "f:1:49: error: (job / u2 / task): minimum allowed 'timeout_sec' is"
      " 1 sec, got -1\n" },
    { __LINE__, false,
      "job { id: \"u3\" url_fetch { url: \"https://x.com\" timeout_sec: 481 }"
      " }",
      "f:1:49: error: (job / u3 / task): maximum allowed 'timeout_sec' is"
      " 480 sec, got 481\n" },
    { __LINE__, false,
      "job { id: \"u4\" url_fetch { url: \"%%%%\" } }",
      "f:1:28: error: (job / u4 / task): invalid URL \"%%%%\": parse \"%%%%\""
      ": invalid URL escape \"%%%\"\n" },
    { __LINE__, false,
      "job { id: \"u5\" url_fetch { url: \"/abc\" } }",
      "f:1:28: error: (job / u5 / task): not an absolute url: \"/abc\"\n" },
    { __LINE__, true,
      "job { id: \"h\" schedule: \"H H * * *\" noop {} }",
      "f:1:15: error: (job / h): H H * * * is not valid value for 'schedu"
      "le' field - 'H' is a tock extension that LUCI Scheduler does not a"
      "ccept\n" },
    { __LINE__, true,
      "job { id: \"bb2\" realm: \"ci\" buildbucket { server: \"https://s.com\" "
      "builder: \"x\" } }",
      "f:1:43: error: (job / bb2 / task): field 'server' should be just a"
      " host, not a URL: \"https://s.com\"\n" },
    { __LINE__, true,
      "job { id: \"bb5\" buildbucket { server: \"s.com\" bucket: \"luci.proj.b"
      "uck\" builder: \"x\" } }",
      "f:1:47: error: (job / bb5 / task): legacy v1 bucket names like \"lu"
      "ci.proj.buck\" are no longer allowed, use \"buck\" instead\n" },
    { __LINE__, true,
      "job { id: \"bb6\" buildbucket { server: \"s.com\" bucket: \"luci.other."
      "buck\" builder: \"x\" } }",
      "f:1:47: error: (job / bb6 / task): legacy v1 bucket names like \"lu"
      "ci.other.buck\" are no longer allowed, use \"other:buck\" instead\n" },
    { __LINE__, true,
      "trigger { id: \"g2\" gitiles { repo: \"/relative\" refs: \"master\" refs"
      ": \"refs/heads\" refs: \"heads/master\" refs: \"refs/tags/*\" } }",
      "f:1:30: error: (trigger / g2 / task / repo): not an absolute url: "
      "\"/relative\"\nf:1:48: error: (trigger / g2 / task / refs): ref must "
      "start with 'refs/' not \"master\"\nf:1:48: error: (trigger / g2 / tas"
      "k / refs): fewer than 2 slashes in ref \"master\"\nf:1:63: error: (tr"
      "igger / g2 / task / refs): fewer than 2 slashes in ref \"refs/heads"
      "\"\nf:1:82: error: (trigger / g2 / task / refs): ref must start with"
      " 'refs/' not \"heads/master\"\nf:1:82: error: (trigger / g2 / task / "
      "refs): fewer than 2 slashes in ref \"heads/master\"\n" },
    /* Cases that need several blocks. */
    { __LINE__, false,
      "job { id: \"a\" noop {} }\njob {\n  id: \"a\"\n  noop {}\n}\n",
      "f:3:3: error: (job / a): duplicate id \"a\"\n" },
    { __LINE__, false,
      "trigger { id: \"a\" noop {} }\njob { id: \"a\" noop {} }\n",
      "f:1:11: error: (trigger / a): duplicate id \"a\"\n" },
    { __LINE__, false,
      "trigger { id: \"t\" noop {} triggers: \"d\" triggers: \"t\" }\n"
      "job { id: \"d\" disabled: true noop {} }\n",
      "" },
    { __LINE__, false,
      "trigger { id: \"t\" noop {} triggers: \"x\" }\ntrigger { id: \"x\" noop {} }\n",
      "" },
    { __LINE__, false,
      "job { id: \"a\" buildbucket { server: \"s.com\" builder: \"b\" } noop {} }\n",
      "f:1:60: error: (job / a): only one field with task definition must be set, at least two "
      "are given (*messages.NoopTask and *messages.BuildbucketTask)\n" },
    { __LINE__, false,
      "job { id: \"a\" url_fetch {} noop {} buildbucket {} }\n",
      "f:1:28: error: (job / a): only one field with task definition must be set, at least two "
      "are given (*messages.NoopTask and *messages.UrlFetchTask)\n" },
    { __LINE__, false,
      "trigger { id: \"t\" gitiles { repo: \"https://h.com/r\" } noop {} }\n",
      "f:1:55: error: (trigger / t): only one field with task definition must be set, at least "
      "two are given (*messages.NoopTask and *messages.GitilesTask)\n" },
    /* Valid tasks of every kind produce nothing. */
    { __LINE__, true,
      "job { id: \"bb\" realm: \"ci\" schedule: \"0 */3 * * *\" buildbucket { "
      "server: \"cr-buildbucket.appspot.com\" builder: \"x\" properties: \"k:\" "
      "tags: \"a:b\" } }\n"
      "job { id: \"bb2\" buildbucket { server: \"h.com:8080\" bucket: \"abc.def.123\" "
      "builder: \"y\" } }\n"
      "job { id: \"u\" url_fetch { url: \"https://example.com\" timeout_sec: 480 "
      "method: \"GET\" } }\n"
      "job { id: \"n (1)\" realm: \"@project\" triggering_policy { kind: NEWEST_FIRST "
      "max_concurrent_invocations: 0 pending_timeout { seconds: 1 } } noop {} }\n"
      "job { id: \"l\" triggering_policy { kind: LOGARITHMIC_BATCHING log_base: 1.0001 } "
      "noop {} }\n"
      "trigger { id: \"g\" realm: \"a/b.c-d_e\" schedule: \"with 10m interval\" gitiles { "
      "repo: \"https://h.googlesource.com/r\" refs: \"refs/heads/main\" "
      "refs: \"regexp:refs/branch-heads/(6\\\\.8|6\\\\.9)\\\\.\\\\d+\" "
      "refs: \"regexp:refs/h[e]ad(s)/m[a]ster\" refs: \"regexp:refs/foo\\\\.bar/\\\\d+\" "
      "path_regexps: \"src/.+\" path_regexps_exclude: \"src/docs/.+\" } "
      "triggers: [\"bb\", \"u\"] }\n",
      "" },
};

static void run_case(const struct validate_case *c)
{
    struct cfg_diags d;
    struct cfg_project *p = NULL;
    struct buf got;
    char where[64];

    snprintf(where, sizeof(where), "case at line %d", c->line);
    cfg_diags_init(&d);
    buf_init(&got, 1 << 20);
    if (cfg_project_parse(c->cfg, strlen(c->cfg), &p, &d) != 0) {
        print_error("%s: does not parse: %s\n", where, d.v[0].message);
        fail();
    }
    struct cfg_validate_options o = { .strict_luci = c->strict, .project = "proj" };
    int errors = cfg_validate(p, &o, &d);
    for (size_t i = 0; i < d.n; i++) {
        cfg_diag_format(&d.v[i], "f", &got);
        buf_putc(&got, '\n');
    }
    if (strcmp(got.data, c->want) != 0) {
        print_error("%s (%s):\n--- got\n%s--- want\n%s", where, c->strict ? "strict" : "default",
                    got.data, c->want);
        fail();
    }
    assert_int_equal(errors, (int)d.n_errors);
    buf_release(&got);
    cfg_project_free(p);
    cfg_diags_release(&d);
}

static void test_validate_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        run_case(&cases[i]);
}

static void test_long_id(void **state)
{
    (void)state;
    char cfg[400], id[120];
    memset(id, 'x', 101);
    id[101] = '\0';
    snprintf(cfg, sizeof(cfg), "job { id: \"%s\" noop {} }", id);
    struct cfg_diags d;
    struct cfg_project *p = NULL;
    cfg_diags_init(&d);
    assert_int_equal(cfg_project_parse(cfg, strlen(cfg), &p, &d), 0);
    assert_int_equal(cfg_validate(p, NULL, &d), 1);
    assert_non_null(strstr(d.v[0].message, "is not valid value for 'id' field"));
    cfg_project_free(p);
    cfg_diags_release(&d);
    id[100] = '\0';
    snprintf(cfg, sizeof(cfg), "job { id: \"%s\" noop {} }", id);
    assert_int_equal(cfg_project_parse(cfg, strlen(cfg), &p, &d), 0);
    assert_int_equal(cfg_validate(p, NULL, &d), 0);
    assert_string_equal(cfg_job_realm(&p->jobs[0]), "@legacy");
    cfg_project_free(p);
    cfg_diags_release(&d);
}

struct builder_case {
    int line;
    const char *realm, *bucket, *builder;
    bool strict;
    const char *want; /* "project/bucket/builder" or the error */
};

static const struct builder_case builder_cases[] = {
    { __LINE__, "realm", "", "b", false, "proj/realm/b" },
    { __LINE__, "@legacy", "", "b", false, "'bucket' field for jobs in \"@legacy\" realm is "
                                           "required" },
    { __LINE__, "@root", "", "b", false, "'bucket' field for jobs in \"@root\" realm is required" },
    { __LINE__, "realm", "another-proj:buck", "b", false, "another-proj/buck/b" },
    { __LINE__, "realm", "buck", "b", false, "proj/buck/b" },
    { __LINE__, "realm", "abc.def.123", "b", false, "proj/abc.def.123/b" },
    { __LINE__, "@legacy", "buck", "b", false, "proj/buck/b" },
    { __LINE__, "realm", "luci.proj.buck", "b", false, "proj/buck/b (v1)" },
    { __LINE__, "realm", "luci.proj.buck", "b", true,
      "legacy v1 bucket names like \"luci.proj.buck\" are no longer allowed, use \"buck\" "
      "instead" },
    { __LINE__, "realm", "luci.another-proj.buck", "b", true,
      "legacy v1 bucket names like \"luci.another-proj.buck\" are no longer allowed, use "
      "\"another-proj:buck\" instead" },
    { __LINE__, "realm", "luci.another-proj", "b", false,
      "bad legacy v1 'bucket' \"luci.another-proj\", need 3 components" },
    { __LINE__, "realm", "buck", "", false, "'builder' field is required" },
};

static void test_builder_id(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(builder_cases); i++) {
        const struct builder_case *c = &builder_cases[i];
        struct cfg_buildbucket_task t = { .server = "s", .bucket = c->bucket,
                                          .builder = c->builder };
        struct cfg_builder_id id;
        char err[512], got[1024];
        if (cfg_builder_id(&t, "proj", c->realm, c->strict, &id, err, sizeof(err)) == 0)
            snprintf(got, sizeof(got), "%s/%s/%s%s", id.project, id.bucket, id.builder,
                     id.legacy_v1 ? " (v1)" : "");
        else
            snprintf(got, sizeof(got), "%s", err);
        if (strcmp(got, c->want) != 0) {
            print_error("case at line %d: got %s, want %s\n", c->line, got, c->want);
            fail();
        }
    }
}

static void test_ref_normalize(void **state)
{
    (void)state;
    static const char *const rows[][2] = {
        { "master", "refs/heads/master" },
        { "refs/heads/main", "refs/heads/main" },
        { "refs/tags/*", "regexp:refs/tags/[^/]+" },
        { "refs/branch-heads/1.*", "regexp:refs/branch-heads/1\\.[^/]+" },
        { "regexp:refs/heads/.*", "regexp:refs/heads/.*" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        struct buf b;
        buf_init(&b, 1024);
        assert_int_equal(cfg_gitiles_ref_normalize(rows[i][0], &b), 0);
        assert_string_equal(b.data, rows[i][1]);
        buf_release(&b);
    }
}

struct re_case {
    int line;
    const char *re;
    const char *want; /* literal prefix + "$" if complete, or the error */
};

static const struct re_case re_cases[] = {
    { __LINE__, "refs/heads/master", "refs/heads/master$" },
    { __LINE__, "refs/heads/\\d+", "refs/heads/" },
    { __LINE__, "refs/branch-heads/\\d+\\.\\d+", "refs/branch-heads/" },
    { __LINE__, "refs/h[e]ad(s)/m[a]ster", "refs/heads/master$" },
    { __LINE__, "refs/branch[-_]heads/\\d+\\/\\d+", "refs/branch" },
    { __LINE__, "refs/foo\\.bar/\\d+", "refs/foo.bar/" },
    { __LINE__, "refs/branch-heads/(6\\.8|6\\.9)\\.\\d+", "refs/branch-heads/6." },
    { __LINE__, "refs/heads/(?:d8-)?[0-9]+", "refs/heads/" },
    { __LINE__, "refs/tags/84\\..*", "refs/tags/84." },
    { __LINE__, "refs/x+y", "refs/x" },
    { __LINE__, "refs/x*y", "refs/" },
    { __LINE__, "refs/x{2}y", "refs/xxy$" },
    { __LINE__, "refs/x{2,3}", "refs/xx" },
    { __LINE__, "a|b", "" },
    { __LINE__, "refs/heads/a|refs/heads/b", "refs/heads/" },
    { __LINE__, "(?i)refs/heads", "" },
    { __LINE__, "\\Qa.b\\E", "" },
    { __LINE__, "x{,3}", "x{,3}$" },
    { __LINE__, "x\\{", "x{$" },
    /* What RE2 refuses, with Go's messages. */
    { __LINE__, "(", "error parsing regexp: missing closing ): `(`" },
    { __LINE__, "a)", "error parsing regexp: unexpected ): `a)`" },
    { __LINE__, "[a", "error parsing regexp: missing closing ]: `[a`" },
    { __LINE__, "x[b-a]", "error parsing regexp: invalid character class range: `b-a`" },
    { __LINE__, "*", "error parsing regexp: missing argument to repetition operator: `*`" },
    { __LINE__, "a**", "error parsing regexp: invalid nested repetition operator: `**`" },
    { __LINE__, "a*+", "error parsing regexp: invalid nested repetition operator: `*+`" },
    { __LINE__, "a++", "error parsing regexp: invalid nested repetition operator: `++`" },
    { __LINE__, "a{2}+", "error parsing regexp: invalid nested repetition operator: `{2}+`" },
    { __LINE__, "a{1001}", "error parsing regexp: invalid repeat count: `{1001}`" },
    { __LINE__, "a{3,2}", "error parsing regexp: invalid repeat count: `{3,2}`" },
    { __LINE__, "(a)\\1", "error parsing regexp: invalid escape sequence: `\\1`" },
    { __LINE__, "(?P<n>a)\\k<n>", "error parsing regexp: invalid escape sequence: `\\k`" },
    { __LINE__, "a(?=b)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`" },
    { __LINE__, "a(?!b)", "error parsing regexp: invalid or unsupported Perl syntax: `(?!`" },
    { __LINE__, "(?<=a)b", "error parsing regexp: invalid named capture: `(?<=a)b`" },
    { __LINE__, "(?<!a)b", "error parsing regexp: invalid named capture: `(?<!a)b`" },
    { __LINE__, "(?>a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?>`" },
    { __LINE__, "(?R)", "error parsing regexp: invalid or unsupported Perl syntax: `(?R`" },
    { __LINE__, "(?(1)a|b)", "error parsing regexp: invalid or unsupported Perl syntax: `(?(`" },
    { __LINE__, "(?#c)", "error parsing regexp: invalid or unsupported Perl syntax: `(?#`" },
    { __LINE__, "a\\C", "error parsing regexp: invalid escape sequence: `\\C`" },
    { __LINE__, "a\\Z", "error parsing regexp: invalid escape sequence: `\\Z`" },
    { __LINE__, "\\G", "error parsing regexp: invalid escape sequence: `\\G`" },
    { __LINE__, "[\\b]", "error parsing regexp: invalid escape sequence: `\\b`" },
    { __LINE__, "a\\", "error parsing regexp: trailing backslash at end of expression: ``" },
    { __LINE__, "[[:foo:]]", "error parsing regexp: invalid character class range: `[:foo:]`" },
    { __LINE__, "(*FAIL)", "error parsing regexp: missing argument to repetition operator: `*`" },
    /* Accepted: octal escapes, \x{}, classes, named groups, flags, lazy repeats. */
    { __LINE__, "\\101\\x{42}\\x43[[:alpha:]\\d]\\pL\\p{Greek}(?P<n>x)(?<m>y)(?i:z)a*?b+?",
      "ABC" },
};

static void test_re2(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(re_cases); i++) {
        const struct re_case *c = &re_cases[i];
        struct re2_regexp *re = NULL;
        char err[512], got[1024];
        if (re2_regexp_compile(c->re, &re, err, sizeof(err)) == 0) {
            bool complete;
            char lp[512];
            re2_regexp_literal_prefix(re, lp, sizeof(lp), &complete);
            snprintf(got, sizeof(got), "%s%s", lp, complete ? "$" : "");
        } else {
            snprintf(got, sizeof(got), "%s", err);
        }
        if (strcmp(got, c->want) != 0) {
            print_error("case at line %d (%s): got %s, want %s\n", c->line, c->re, got, c->want);
            fail();
        }
        re2_regexp_free(re);
    }
    /* Matching is whole-string, $ only at the very end. */
    struct re2_regexp *re = NULL;
    char err[256];
    assert_int_equal(re2_regexp_compile("refs/heads/\\d+", &re, err, sizeof(err)), 0);
    assert_true(re2_regexp_full_match(re, "refs/heads/12", 13));
    assert_false(re2_regexp_full_match(re, "refs/heads/12x", 14));
    assert_false(re2_regexp_full_match(re, "xrefs/heads/12", 14));
    re2_regexp_free(re);
    assert_int_equal(re2_regexp_compile("a$", &re, err, sizeof(err)), 0);
    assert_false(re2_regexp_full_match(re, "a\n", 2));
    re2_regexp_free(re);
    assert_int_equal(re2_regexp_compile("\\012", &re, err, sizeof(err)), 0);
    assert_true(re2_regexp_full_match(re, "\n", 1));
    re2_regexp_free(re);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_table),
        cmocka_unit_test(test_long_id),
        cmocka_unit_test(test_builder_id),
        cmocka_unit_test(test_ref_normalize),
        cmocka_unit_test(test_re2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
