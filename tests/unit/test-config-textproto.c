/*
 * Unit tests for config/textproto + the model builder: the text-format
 * grammar, the schema, and hostile input.  Each table row is one input and
 * either the expected model (as a compact dump) or the expected error
 * "LINE:COL: message" (the message is matched as a substring).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/mman.h>

#include "base/buf.h"
#include "base/limits.h"
#include "config/config.h"

/* A compact, canonical dump of a project: one "J{...}" or "T{...}" per block. */
static void dump_list(struct buf *b, const char *name, const struct cfg_strlist *l)
{
    if (!l->n)
        return;
    buf_printf(b, " %s[", name);
    for (size_t i = 0; i < l->n; i++)
        buf_printf(b, "%s%s", i ? "," : "", l->v[i]);
    buf_puts(b, "]");
}

static void dump_project(const struct cfg_project *p, struct buf *b)
{
    for (size_t i = 0; i < p->n_acl_sets; i++) {
        const struct cfg_acl_set *s = &p->acl_sets[i];
        buf_printf(b, "S{%s", s->name);
        for (size_t k = 0; k < s->n_acls; k++)
            buf_printf(b, " %d:%s", (int)s->acls[k].role, s->acls[k].granted_to);
        buf_puts(b, "}");
    }
    for (size_t i = 0; i < p->n_jobs; i++) {
        const struct cfg_job *j = &p->jobs[i];
        buf_printf(b, "%c{id=%s", j->is_trigger ? 'T' : 'J', j->id);
        if (j->realm[0])
            buf_printf(b, " realm=%s", j->realm);
        if (j->schedule[0])
            buf_printf(b, " sched=%s", j->schedule);
        if (j->disabled)
            buf_puts(b, " disabled");
        dump_list(b, "aclsets", &j->acl_sets);
        for (size_t k = 0; k < j->n_acls; k++)
            buf_printf(b, " acl=%d:%s", (int)j->acls[k].role, j->acls[k].granted_to);
        if (j->policy.present)
            buf_printf(b, " pol(%d,%" PRId64 ",%" PRId64 ",%g,%" PRId64 ")", (int)j->policy.kind,
                       j->policy.max_concurrent_invocations, j->policy.max_batch_size,
                       (double)j->policy.log_base, j->policy.pending_timeout_ns);
        if (j->tasks_present & (1u << CFG_TASK_NOOP))
            buf_printf(b, " noop(%" PRId64 ",%" PRId64 ")", j->noop.sleep_ms,
                       j->noop.triggers_count);
        if (j->tasks_present & (1u << CFG_TASK_URL_FETCH))
            buf_printf(b, " url(%s,%s,%d)", j->url_fetch.method, j->url_fetch.url,
                       (int)j->url_fetch.timeout_sec);
        if (j->tasks_present & (1u << CFG_TASK_BUILDBUCKET)) {
            buf_printf(b, " bb(%s,%s,%s", j->buildbucket.server, j->buildbucket.bucket,
                       j->buildbucket.builder);
            dump_list(b, "props", &j->buildbucket.properties);
            dump_list(b, "tags", &j->buildbucket.tags);
            buf_puts(b, ")");
        }
        if (j->tasks_present & (1u << CFG_TASK_GITILES)) {
            buf_printf(b, " gt(%s", j->gitiles.repo);
            dump_list(b, "refs", &j->gitiles.refs);
            dump_list(b, "pr", &j->gitiles.path_regexps);
            dump_list(b, "pe", &j->gitiles.path_regexps_exclude);
            buf_puts(b, ")");
        }
        dump_list(b, "triggers", &j->triggers);
        buf_puts(b, "}");
    }
}

struct parse_case {
    int line;
    const char *in;
    int rc;
    const char *want; /* rc 0: the dump; else "LINE:COL: message substring" */
};

static const struct parse_case cases[] = {
    /* Empty and trivial inputs. */
    { __LINE__, "", 0, "" },
    { __LINE__, "  \n\t# only a comment", 0, "" },
    { __LINE__, "job {}", 0, "J{id=}" },
    { __LINE__, "job: {}", 0, "J{id=}" },
    { __LINE__, "job <>", 0, "J{id=}" },
    { __LINE__, "job: < >", 0, "J{id=}" },
    { __LINE__, "trigger { id: \"t\" }", 0, "T{id=t}" },
    /* Separators. */
    { __LINE__, "job { id: \"a\"; realm: \"r\", schedule: \"triggered\" };", 0,
      "J{id=a realm=r sched=triggered}" },
    { __LINE__, "job { id: \"a\" },job { id: \"b\" }", 0, "J{id=a}J{id=b}" },
    /* Strings: quotes, escapes, concatenation. */
    { __LINE__, "job { id: 'single' }", 0, "J{id=single}" },
    { __LINE__, "job { id: \"it's\" }", 0, "J{id=it's}" },
    { __LINE__, "job { id: 'say \"hi\"' }", 0, "J{id=say \"hi\"}" },
    { __LINE__, "job { id: \"a\" 'b' \"c\" }", 0, "J{id=abc}" },
    { __LINE__, "job { id: \"a\" # comment\n \"b\" }", 0, "J{id=ab}" },
    { __LINE__, "job { id: \"\\x41\\101\\u00e9\\U0001F600\" }", 0,
      "J{id=AA\xc3\xa9\xf0\x9f\x98\x80}" },
    { __LINE__, "job { id: \"\\\\ \\' \\\" \\? \\t\" }", 0, "J{id=\\ ' \" ? \t}" },
    { __LINE__, "job { id: \"\\xc3\\xa9\" }", 0, "J{id=\xc3\xa9}" },
    { __LINE__, "job { id: \"caf\xc3\xa9\" }", 0, "J{id=caf\xc3\xa9}" },
    { __LINE__, "job { id: \"\\q\" }", -EINVAL, "1:12: unknown escape \\q" },
    { __LINE__, "job { id: \"\\x4\" }", -EINVAL, "1:12: \\x requires 2 following hex digits" },
    { __LINE__, "job { id: \"\\xzz\" }", -EINVAL, "1:12: non-hexadecimal" },
    { __LINE__, "job { id: \"\\12\" }", -EINVAL, "1:12: \\1 requires 2 following octal" },
    { __LINE__, "job { id: \"\\400\" }", -EINVAL, "1:12: out of range" },
    { __LINE__, "job { id: \"\\U00110000\" }", -EINVAL, "not a valid Unicode code point" },
    { __LINE__, "job { id: \"abc }", -EINVAL, "1:11: unterminated string" },
    { __LINE__, "job { id: \"abc\n\" }", -EINVAL, "1:11: unterminated string" },
    { __LINE__, "job { id: 'abc\" }", -EINVAL, "1:11: unterminated string" },
    { __LINE__, "job { id: \"\\", -EINVAL, "1:11: unterminated string" },
    { __LINE__, "job { id: \"\xff\" }", -EINVAL, "1:11: invalid UTF-8" },
    { __LINE__, "job { id: \"\\xff\" }", -EINVAL, "1:11: invalid UTF-8" },
    { __LINE__, "job { id: \"\xed\xa0\x80\" }", -EINVAL, "1:11: invalid UTF-8" },
    { __LINE__, "job { id: \"\xc0\xaf\" }", -EINVAL, "1:11: invalid UTF-8" },
    { __LINE__, "job { id: \"\\000\" }", -EINVAL, "1:11: string contains a NUL byte" },
    { __LINE__, "job { id: abc }", -EINVAL, "1:11: invalid value for string field \"id\"" },
    { __LINE__, "job { id: 5 }", -EINVAL, "1:11: invalid value for string field" },
    /* Security options (reserved name) are skipped, whatever they hold. */
    { __LINE__, "security_options { a: 1 b { c: \"x\" 'y' } d: [1, {e: 2}] [ext.f]: 3 }"
                "job { id: \"a\" }", 0, "J{id=a}" },
    { __LINE__, "security_options: < >", 0, "" },
    { __LINE__, "security_options: 5", 0, "" },
    { __LINE__, "security_options { a }", -EINVAL, "1:22: expected ':'" },
    { __LINE__, "security_options { a: }", -EINVAL, "1:23: expected a value" },
    /* Unknown fields, with the message name. */
    { __LINE__, "jobs {}", -EINVAL, "1:1: unknown field name \"jobs\" in "
                                    "scheduler.config.ProjectConfig" },
    { __LINE__, "job {\n  swarming {}\n}", -EINVAL, "2:3: unknown field name \"swarming\" in "
                                                  "scheduler.config.Job" },
    { __LINE__, "job { task { buildbucket_task {} } }", -EINVAL, "1:7: unknown field name "
                                                               "\"task\"" },
    { __LINE__, "trigger { url_fetch {} }", -EINVAL, "1:11: unknown field name \"url_fetch\" in "
                                                   "scheduler.config.Trigger" },
    { __LINE__, "job { gitiles {} }", -EINVAL, "unknown field name \"gitiles\"" },
    { __LINE__, "job { triggers: \"x\" }", -EINVAL, "unknown field name \"triggers\"" },
    { __LINE__, "job { [ext.x]: 1 }", -EINVAL, "1:7: extension and Any fields" },
    { __LINE__, "job { Id: \"a\" }", -EINVAL, "1:7: unknown field name \"Id\"" },
    /* Structure errors. */
    { __LINE__, "job {", -EINVAL, "1:6: unexpected end of input: '{' opened at 1:5" },
    { __LINE__, "job <", -EINVAL, "1:6: unexpected end of input: '<' opened at 1:5" },
    { __LINE__, "job { id: \"a\" >", -EINVAL, "1:15: expected field name, found \">\"" },
    { __LINE__, "job < id: \"a\" }", -EINVAL, "1:15: expected field name, found \"}\"" },
    { __LINE__, "}", -EINVAL, "1:1: expected field name, found \"}\"" },
    { __LINE__, "job", -EINVAL, "1:4: expected '{' or '<' for message field \"job\", found end" },
    { __LINE__, "job: 5", -EINVAL, "1:6: expected '{' or '<'" },
    { __LINE__, "job { id \"a\" }", -EINVAL, "1:10: expected ':' after field \"id\"" },
    { __LINE__, "job { id: }", -EINVAL, "1:11: invalid value for string field" },
    { __LINE__, "job { id: \"a\" id: \"b\" }", -EINVAL, "1:15: non-repeated field \"id\" is "
                                                    "repeated" },
    { __LINE__, "job { noop {} noop {} }", -EINVAL, "1:15: non-repeated field \"noop\"" },
    { __LINE__, "job { id: [\"a\"] }", -EINVAL, "1:11: invalid value for string field" },
    { __LINE__, "job { . }", -EINVAL, "1:7: unknown field name \".\"" },
    { __LINE__, "job { id: \"a\" } / x", -EINVAL, "1:17: expected field name, found \"/\"" },
    { __LINE__, "job { id: \"a\" } @", -EINVAL, "1:17: unexpected byte 0x40" },
    { __LINE__, "job {\n\n   \x01 }", -EINVAL, "3:4: unexpected byte 0x01" },
    /* Lists. */
    { __LINE__, "trigger { triggers: [] }", 0, "T{id=}" },
    { __LINE__, "trigger { triggers: [\"a\", 'b' \"c\"] triggers: \"d\" }", 0,
      "T{id= triggers[a,bc,d]}" },
    { __LINE__, "trigger { triggers: [\"a\" \"b\"", -EINVAL, "1:29: expected ',' or ']' in list of "
                                                     "field \"triggers\", found end of input" },
    { __LINE__, "trigger { triggers: [\"a\" x]", -EINVAL, "1:26: expected ',' or ']'" },
    { __LINE__, "trigger { triggers: [\"a\",] }", -EINVAL, "1:26: invalid value for string" },
    { __LINE__, "job [ {id: \"a\"}, <id: \"b\"> ]", 0, "J{id=a}J{id=b}" },
    { __LINE__, "job: [{id: \"a\"}]", 0, "J{id=a}" },
    { __LINE__, "job: []", 0, "" },
    { __LINE__, "job { acls: [{role: OWNER}, {granted_to: \"x\"}] }", 0, "J{id= acl=1: acl=0:x}" },
    /* Integers. */
    { __LINE__, "job { noop { sleep_ms: 10 triggers_count: -3 } }", 0, "J{id= noop(10,-3)}" },
    { __LINE__, "job { noop { sleep_ms: 0x1F triggers_count: 0X10 } }", 0, "J{id= noop(31,16)}" },
    { __LINE__, "job { noop { sleep_ms: 017 triggers_count: 0 } }", 0, "J{id= noop(15,0)}" },
    { __LINE__, "job { noop { sleep_ms: +5 triggers_count: -0x10 } }", 0, "J{id= noop(5,-16)}" },
    { __LINE__, "job { noop { sleep_ms: 0o17 triggers_count: 0b101 } }", 0, "J{id= noop(15,5)}" },
    { __LINE__, "job { noop { sleep_ms: 9223372036854775807 } }", 0,
      "J{id= noop(9223372036854775807,0)}" },
    { __LINE__, "job { noop { sleep_ms: -9223372036854775808 } }", 0,
      "J{id= noop(-9223372036854775808,0)}" },
    { __LINE__, "job { noop { sleep_ms: 9223372036854775808 } }", -EINVAL,
      "1:24: value \"9223372036854775808\" is out of range for int64 field \"sleep_ms\"" },
    { __LINE__, "job { noop { sleep_ms: 08 } }", -EINVAL, "1:24: invalid value for int64" },
    { __LINE__, "job { noop { sleep_ms: 1.5 } }", -EINVAL, "1:24: invalid value for int64" },
    { __LINE__, "job { noop { sleep_ms: 0x } }", -EINVAL, "invalid value for int64" },
    { __LINE__, "job { noop { sleep_ms: - } }", -EINVAL, "invalid value for int64" },
    { __LINE__, "job { noop { sleep_ms: \"5\" } }", -EINVAL, "invalid value for int64" },
    { __LINE__, "job { url_fetch { timeout_sec: 2147483647 } }", 0, "J{id= url(,,2147483647)}" },
    { __LINE__, "job { url_fetch { timeout_sec: -2147483648 } }", 0,
      "J{id= url(,,-2147483648)}" },
    { __LINE__, "job { url_fetch { timeout_sec: 2147483648 } }", -EINVAL,
      "out of range for int32 field \"timeout_sec\"" },
    { __LINE__, "job { url_fetch { timeout_sec: -2147483649 } }", -EINVAL, "out of range" },
    /* Floats. */
    { __LINE__, "job { triggering_policy { log_base: 2 } }", 0, "J{id= pol(0,0,0,2,0)}" },
    { __LINE__, "job { triggering_policy { log_base: 2.0 } }", 0, "J{id= pol(0,0,0,2,0)}" },
    { __LINE__, "job { triggering_policy { log_base: 1.7 } }", 0, "J{id= pol(0,0,0,1.7,0)}" },
    { __LINE__, "job { triggering_policy { log_base: 1.5f } }", 0, "J{id= pol(0,0,0,1.5,0)}" },
    { __LINE__, "job { triggering_policy { log_base: 1e3 } }", 0, "J{id= pol(0,0,0,1000,0)}" },
    { __LINE__, "job { triggering_policy { log_base: -2.5E-1 } }", 0,
      "J{id= pol(0,0,0,-0.25,0)}" },
    { __LINE__, "job { triggering_policy { log_base: .5 } }", 0, "J{id= pol(0,0,0,0.5,0)}" },
    { __LINE__, "job { triggering_policy { log_base: inf } }", 0, "J{id= pol(0,0,0,inf,0)}" },
    { __LINE__, "job { triggering_policy { log_base: -inf } }", 0, "J{id= pol(0,0,0,-inf,0)}" },
    { __LINE__, "job { triggering_policy { log_base: Infinity } }", 0,
      "J{id= pol(0,0,0,inf,0)}" },
    { __LINE__, "job { triggering_policy { log_base: nan } }", 0, "J{id= pol(0,0,0,nan,0)}" },
    { __LINE__, "job { triggering_policy { log_base: 1e39 } }", -EINVAL,
      "1:37: value \"1e39\" is out of range for float field \"log_base\"" },
    { __LINE__, "job { triggering_policy { log_base: 1.2.3 } }", -EINVAL,
      "1:37: invalid value for float field \"log_base\"" },
    { __LINE__, "job { triggering_policy { log_base: e5 } }", -EINVAL, "invalid value for float" },
    { __LINE__, "job { triggering_policy { log_base: 1e } }", -EINVAL, "invalid value for float" },
    { __LINE__, "job { triggering_policy { log_base: 0x10 } }", -EINVAL, "invalid value" },
    /* Booleans. */
    { __LINE__, "job { disabled: true }", 0, "J{id= disabled}" },
    { __LINE__, "job { disabled: True }", 0, "J{id= disabled}" },
    { __LINE__, "job { disabled: t }", 0, "J{id= disabled}" },
    { __LINE__, "job { disabled: 1 }", 0, "J{id= disabled}" },
    { __LINE__, "job { disabled: false }", 0, "J{id=}" },
    { __LINE__, "job { disabled: False }", 0, "J{id=}" },
    { __LINE__, "job { disabled: f }", 0, "J{id=}" },
    { __LINE__, "job { disabled: 0 }", 0, "J{id=}" },
    { __LINE__, "job { disabled: yes }", -EINVAL, "1:17: invalid value for bool field "
                                                "\"disabled\": \"yes\"" },
    { __LINE__, "job { disabled: TRUE }", -EINVAL, "invalid value for bool" },
    { __LINE__, "job { disabled: \"true\" }", -EINVAL, "invalid value for bool" },
    /* Enums by name or number (proto3: unknown numbers are kept). */
    { __LINE__, "job { triggering_policy { kind: GREEDY_BATCHING } }", 0,
      "J{id= pol(1,0,0,0,0)}" },
    { __LINE__, "job { triggering_policy { kind: NEWEST_FIRST } }", 0, "J{id= pol(3,0,0,0,0)}" },
    { __LINE__, "job { triggering_policy { kind: 2 } }", 0, "J{id= pol(2,0,0,0,0)}" },
    { __LINE__, "job { triggering_policy { kind: 123 } }", 0, "J{id= pol(123,0,0,0,0)}" },
    { __LINE__, "job { triggering_policy { kind: -1 } }", 0, "J{id= pol(-1,0,0,0,0)}" },
    { __LINE__, "job { triggering_policy { kind: newest_first } }", -EINVAL,
      "1:33: unrecognized value \"newest_first\" for enum field \"kind\"" },
    { __LINE__, "job { triggering_policy { kind: 4294967296 } }", -EINVAL, "unrecognized value" },
    { __LINE__, "job { triggering_policy { Kind: NEWEST_FIRST } }", -EINVAL,
      "1:27: unknown field name \"Kind\" in scheduler.config.TriggeringPolicy" },
    { __LINE__, "acl_sets { acls { role: TRIGGERER } acls { role: 1 } }", 0, "S{ 2: 1:}" },
    /* Durations. */
    { __LINE__, "job { triggering_policy { pending_timeout { seconds: 604800 } } }", 0,
      "J{id= pol(0,0,0,0,604800000000000)}" },
    { __LINE__, "job { triggering_policy { pending_timeout { seconds: -1 nanos: -5 } } }", 0,
      "J{id= pol(0,0,0,0,-1000000005)}" },
    { __LINE__, "job { triggering_policy { pending_timeout: < nanos: 7 > } }", 0,
      "J{id= pol(0,0,0,0,7)}" },
    { __LINE__, "job { triggering_policy { pending_timeout { seconds: 9223372036854775807 } } }",
      0, "J{id= pol(0,0,0,0,9223372036854775807)}" },
    { __LINE__, "job { triggering_policy { pending_timeout { seconds: 1 nanos: 2147483648 } } }",
      -EINVAL, "out of range for int32 field \"nanos\"" },
    { __LINE__, "job { triggering_policy { pending_timeout: \"1s\" } }", -EINVAL,
      "expected '{' or '<' for message field \"pending_timeout\"" },
    /* Tasks. */
    { __LINE__, "job { buildbucket { server: \"s\" bucket: \"b\" builder: \"x\" properties: "
                "\"p:1\" tags: [\"t:1\", \"t:2\"] } }", 0,
      "J{id= bb(s,b,x props[p:1] tags[t:1,t:2])}" },
    { __LINE__, "trigger { gitiles { repo: \"r\" refs: \"a\" refs: \"b\" path_regexps: \"c\" "
                "path_regexps_exclude: \"d\" } }", 0, "T{id= gt(r refs[a,b] pr[c] pe[d])}" },
    { __LINE__, "job { noop {} url_fetch {} buildbucket {} }", 0,
      "J{id= noop(0,0) url(,,0) bb(,,)}" },
};

static void check_case(const struct parse_case *c)
{
    struct cfg_diags d;
    struct cfg_project *p = NULL;
    struct buf got;
    char where[64];

    snprintf(where, sizeof(where), "case at line %d", c->line);
    cfg_diags_init(&d);
    buf_init(&got, 1 << 20);
    int r = cfg_project_parse(c->in, strlen(c->in), &p, &d);
    if (r != c->rc) {
        print_error("%s: rc %d, want %d (%s)\n", where, r, c->rc, d.n ? d.v[0].message : "");
        fail();
    }
    if (r == 0) {
        dump_project(p, &got);
        if (strcmp(got.data, c->want) != 0) {
            print_error("%s:\n  got  %s\n  want %s\n", where, got.data, c->want);
            fail();
        }
        assert_int_equal(d.n, 0);
    } else {
        assert_int_equal(d.n, 1);
        assert_int_equal(d.n_errors, 1);
        assert_null(p);
        char pos[32];
        snprintf(pos, sizeof(pos), "%u:%u: ", d.v[0].pos.line, d.v[0].pos.col);
        const char *want_msg = c->want;
        if (c->want[0] >= '0' && c->want[0] <= '9') {
            size_t n = strlen(pos);
            if (strncmp(pos, c->want, n) != 0) {
                print_error("%s: error at %s, want %s (%s)\n", where, pos, c->want,
                            d.v[0].message);
                fail();
            }
            want_msg += n;
        }
        if (!strstr(d.v[0].message, want_msg)) {
            print_error("%s: message \"%s\" lacks \"%s\"\n", where, d.v[0].message, want_msg);
            fail();
        }
    }
    buf_release(&got);
    cfg_project_free(p);
    cfg_diags_release(&d);
}

static void test_grammar_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        check_case(&cases[i]);
}

static char *read_fixture(const char *name, size_t *ret_len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/config/%s", TOCK_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *data = malloc(1 << 20);
    assert_non_null(data);
    *ret_len = fread(data, 1, 1 << 20, f);
    fclose(f);
    return data;
}

static void test_all_fields_fixture(void **state)
{
    (void)state;
    size_t len;
    char *data = read_fixture("all-fields.cfg", &len);
    struct cfg_diags d;
    struct cfg_project *p = NULL;
    struct buf got;

    cfg_diags_init(&d);
    buf_init(&got, 1 << 20);
    assert_int_equal(cfg_project_parse(data, len, &p, &d), 0);
    dump_project(p, &got);
    assert_string_equal(got.data,
        "S{default 0:group:all 1:group:admins}"
        "J{id=cron job (1) realm=ci sched=0 */3 * * * aclsets[default] acl=2:user:a@example.com "
        "pol(2,3,8,1.7,0) bb(cr-buildbucket.appspot.com,ci,linux rel props[a:1] tags[k:v,k2:v2])}"
        "J{id=noop disabled noop(10,2)}"
        "J{id=fetch sched=with 1h30m interval url(GET,https://example.com/x,30)}"
        "J{id=newest pol(3,0,0,0,604800000000005) noop(0,0)}"
        "T{id=poller sched=with 30s interval gt(https://chromium.googlesource.com/infra/infra "
        "refs[refs/heads/main,regexp:refs/branch-heads/\\d+\\.\\d+] pr[src/.+] pe[src/docs/.+]) "
        "triggers[cron job (1),noop,newest]}");
    assert_int_equal(p->n_jobs, 5);
    assert_int_equal(p->n_regular, 4);
    assert_int_equal(p->n_triggers, 1);
    /* Positions of blocks and fields (1-based line:col, col in bytes). */
    const struct cfg_job *j = cfg_project_find(p, "cron job (1)");
    assert_non_null(j);
    assert_int_equal(j->pos.line, 8);
    assert_int_equal(j->pos.col, 1);
    assert_int_equal(j->id_pos.line, 9);
    assert_int_equal(j->id_pos.col, 3);
    assert_int_equal(j->schedule_pos.line, 11);
    assert_int_equal(j->policy.pos.line, 14);
    assert_int_equal(j->task_pos[CFG_TASK_BUILDBUCKET].line, 20);
    assert_int_equal(j->buildbucket.server_pos.line, 21);
    assert_int_equal(j->buildbucket.server_pos.col, 5);
    assert_int_equal(j->task_kind, CFG_TASK_BUILDBUCKET);
    assert_string_equal(j->effective_schedule, "0 */3 * * *");
    j = cfg_project_find(p, "noop");
    assert_string_equal(j->effective_schedule, "triggered");
    j = cfg_project_find(p, "poller");
    assert_string_equal(j->effective_schedule, "with 30s interval");
    assert_int_equal(j->triggers.pos[0].line, 34);
    assert_int_equal(j->triggers.pos[1].line, 35);
    assert_int_equal(j->triggers.pos[1].col, 14);
    assert_int_equal(j->triggers.pos[2].col, 22);
    assert_null(cfg_project_find(p, "nope"));
    buf_release(&got);
    cfg_project_free(p);
    cfg_diags_release(&d);
    free(data);
}

/* Every prefix of a valid file: an answer, never a crash or a leak. */
static void test_truncated_everywhere(void **state)
{
    (void)state;
    size_t len;
    char *data = read_fixture("all-fields.cfg", &len);
    for (size_t n = 0; n <= len; n++) {
        char *copy = malloc(n ? n : 1);
        assert_non_null(copy);
        memcpy(copy, data, n); /* exact-size copy: ASan catches any over-read */
        struct cfg_diags d;
        struct cfg_project *p = NULL;
        cfg_diags_init(&d);
        int r = cfg_project_parse(copy, n, &p, &d);
        assert_true(r == 0 || r == -EINVAL);
        if (r < 0) {
            assert_int_equal(d.n, 1);
            assert_true(d.v[0].pos.line >= 1);
        }
        cfg_project_free(p);
        cfg_diags_release(&d);
        free(copy);
    }
    free(data);
}

/* Every byte flipped to a few hostile values: never a crash. */
static void test_corrupted_everywhere(void **state)
{
    (void)state;
    static const char bad[] = { '\0', '"', '{', '}', '\\', '\xff', '\n', '#' };
    size_t len;
    char *data = read_fixture("all-fields.cfg", &len);
    char *copy = malloc(len);
    assert_non_null(copy);
    for (size_t i = 0; i < len; i++) {
        for (size_t k = 0; k < sizeof(bad); k++) {
            memcpy(copy, data, len);
            copy[i] = bad[k];
            struct cfg_diags d;
            struct cfg_project *p = NULL;
            cfg_diags_init(&d);
            int r = cfg_project_parse(copy, len, &p, &d);
            assert_true(r == 0 || r == -EINVAL);
            cfg_project_free(p);
            cfg_diags_release(&d);
        }
    }
    free(copy);
    free(data);
}

static void expect_error(const char *data, size_t len, int rc, unsigned line, unsigned col,
                         const char *msg)
{
    struct cfg_diags d;
    struct cfg_project *p = NULL;
    cfg_diags_init(&d);
    assert_int_equal(cfg_project_parse(data, len, &p, &d), rc);
    assert_null(p);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.v[0].pos.line, line);
    assert_int_equal(d.v[0].pos.col, col);
    if (!strstr(d.v[0].message, msg)) {
        print_error("message \"%s\" lacks \"%s\"\n", d.v[0].message, msg);
        fail();
    }
    cfg_diags_release(&d);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 20);
    /* Deep nesting can only come through skipped (reserved) values. */
    buf_puts(&b, "security_options ");
    for (int i = 0; i < 10000; i++)
        buf_puts(&b, "{ a ");
    expect_error(b.data, b.len, -EINVAL, 1, 18 + 4 * LIMIT_CONFIG_NESTING,
                 "nested deeper than 32 levels");
    buf_reset(&b);
    buf_puts(&b, "security_options: [");
    for (int i = 0; i < 100; i++)
        buf_puts(&b, "< a: [");
    expect_error(b.data, b.len, -EINVAL, 1, 20 + 6 * LIMIT_CONFIG_NESTING,
                 "nested deeper than");
    /* Just under the limit is fine. */
    buf_reset(&b);
    buf_puts(&b, "security_options ");
    for (int i = 0; i < LIMIT_CONFIG_NESTING; i++)
        buf_puts(&b, "{ a ");
    for (int i = 0; i < LIMIT_CONFIG_NESTING; i++)
        buf_puts(&b, "}");
    expect_error(b.data, b.len, -EINVAL, 1, 18 + 4 * LIMIT_CONFIG_NESTING,
                 "expected ':', found \"}\"");
    buf_release(&b);
}

static void test_long_strings(void **state)
{
    (void)state;
    /* One string literal over the limit. */
    size_t n = LIMIT_CONFIG_STRING_BYTES + 10;
    char *data = malloc(n + 32);
    assert_non_null(data);
    memcpy(data, "job { id: \"", 11);
    memset(data + 11, 'a', n);
    memcpy(data + 11 + n, "\" }", 3);
    expect_error(data, n + 14, -EINVAL, 1, 11, "string longer than 1048576 bytes");
    /* Many short pieces concatenated over the limit. */
    struct buf b;
    buf_init(&b, 4u << 20);
    buf_puts(&b, "job {\n id:");
    for (int i = 0; i < 1100; i++) {
        memset(data, 'b', 1000);
        data[1000] = '\0';
        buf_printf(&b, " \"%s\"\n", data);
    }
    buf_puts(&b, "}");
    expect_error(b.data, b.len, -EINVAL, 2, 6, "string longer than");
    buf_release(&b);
    free(data);
}

static void test_huge_input(void **state)
{
    (void)state;
    /* 100 MB of address space, never touched: the size is refused first. */
    size_t n = 100u << 20;
    char *data = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(data != MAP_FAILED);
    expect_error(data, n, -EFBIG, 1, 1, "file is larger than 67108864 bytes");
    munmap(data, n);
}

static void test_nul_bytes(void **state)
{
    (void)state;
    static const char a[] = "job { id: \"a\0b\" }";
    expect_error(a, sizeof(a) - 1, -EINVAL, 1, 13, "NUL byte in string");
    static const char b[] = "job {\n \0 }";
    expect_error(b, sizeof(b) - 1, -EINVAL, 2, 2, "unexpected NUL byte");
    static const char c[] = "job { id: \"a\" }\0";
    expect_error(c, sizeof(c) - 1, -EINVAL, 1, 16, "unexpected NUL byte");
    static const char d[] = "# comment \0 with NUL\njob {}";
    struct cfg_diags dg;
    struct cfg_project *p = NULL;
    cfg_diags_init(&dg);
    assert_int_equal(cfg_project_parse(d, sizeof(d) - 1, &p, &dg), 0);
    cfg_project_free(p);
    cfg_diags_release(&dg);
}

static void test_not_nul_terminated(void **state)
{
    (void)state;
    /* The input ends exactly at a token; nothing past len is read. */
    static const char *inputs[] = { "job {}", "job { id: \"x\" }", "job { noop { sleep_ms: 12",
                                    "job { id: 'a' 'b'",
                                    "job { triggering_policy { log_base: 1.5f" };
    for (size_t i = 0; i < ARRAY_SIZE(inputs); i++) {
        size_t n = strlen(inputs[i]);
        char *copy = malloc(n);
        assert_non_null(copy);
        memcpy(copy, inputs[i], n);
        struct cfg_diags d;
        struct cfg_project *p = NULL;
        cfg_diags_init(&d);
        int r = cfg_project_parse(copy, n, &p, &d);
        assert_true(r == 0 || r == -EINVAL);
        cfg_project_free(p);
        cfg_diags_release(&d);
        free(copy);
    }
}

static void test_diag_format(void **state)
{
    (void)state;
    struct cfg_diags d;
    struct buf b;
    cfg_diags_init(&d);
    buf_init(&b, 4096);
    assert_int_equal(cfg_diags_add(&d, CFG_SEV_ERROR, (struct cfg_pos){ 3, 5 },
                                   "job / my job / task", "field '%s' is required", "server"),
                     0);
    assert_int_equal(cfg_diags_add(&d, CFG_SEV_WARNING, (struct cfg_pos){ 7, 1 }, NULL, "w"), 0);
    assert_int_equal(cfg_diags_add(&d, CFG_SEV_ERROR, (struct cfg_pos){ 0, 0 }, "", "e"), 0);
    assert_int_equal(d.n_errors, 2);
    assert_int_equal(d.n_warnings, 1);
    cfg_diag_format(&d.v[0], "x.cfg", &b);
    assert_string_equal(b.data, "x.cfg:3:5: error: (job / my job / task): field 'server' is "
                                "required");
    buf_reset(&b);
    cfg_diag_format(&d.v[1], "x.cfg", &b);
    assert_string_equal(b.data, "x.cfg:7:1: warning: w");
    buf_reset(&b);
    cfg_diag_format(&d.v[2], "x.cfg", &b);
    assert_string_equal(b.data, "x.cfg: error: e");
    /* The list keeps at most LIMIT_CONFIG_ERRORS entries but counts all. */
    for (int i = 0; i < LIMIT_CONFIG_ERRORS + 5; i++)
        cfg_diags_add(&d, CFG_SEV_ERROR, (struct cfg_pos){ 1, 1 }, "p", "m%d", i);
    assert_int_equal(d.n, LIMIT_CONFIG_ERRORS);
    assert_int_equal(d.n_errors, 2 + LIMIT_CONFIG_ERRORS + 5);
    assert_int_equal(d.n_dropped, 8);
    /* Messages are bounded. */
    cfg_diags_release(&d);
    char *big = malloc(100000);
    assert_non_null(big);
    memset(big, 'x', 99999);
    big[99999] = '\0';
    cfg_diags_add(&d, CFG_SEV_ERROR, (struct cfg_pos){ 1, 1 }, "p", "%s", big);
    assert_true(strlen(d.v[0].message) < 5000);
    free(big);
    cfg_diags_release(&d);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grammar_table),
        cmocka_unit_test(test_all_fields_fixture),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_corrupted_everywhere),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_long_strings),
        cmocka_unit_test(test_huge_input),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_diag_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
